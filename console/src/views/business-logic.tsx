import type { Api } from '../api';

export function BusinessLogic({ api }: { api: Api }) {
  void api;
  return <section><h1>BusinessLogic</h1><p class="muted">Coming.</p></section>;
}
