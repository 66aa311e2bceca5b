import type { Api } from '../api';

export function Groups({ api }: { api: Api }) {
  void api;
  return <section><h1>Groups</h1><p class="muted">Coming.</p></section>;
}
