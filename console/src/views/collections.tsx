import type { Api } from '../api';

export function Collections({ api, rest }: { api: Api; rest: string[] }) {
  void api;
  void rest;
  return <section><h1>Collections</h1><p class="muted">Coming.</p></section>;
}
