import type { Api } from '../api';

export function Files({ api }: { api: Api }) {
  void api;
  return <section><h1>Files</h1><p class="muted">Coming.</p></section>;
}
