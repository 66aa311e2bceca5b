import type { Api } from '../api';

export function Users({ api }: { api: Api }) {
  void api;
  return <section><h1>Users</h1><p class="muted">Coming.</p></section>;
}
