/** The last failures of the app's hooks and endpoints (newest first), as this kinbase instance saw them. */
import { formatDate } from '../components/common';
import type { RecentError } from './business-logic-shared';

export function RecentErrors({ errors }: { errors: RecentError[] }) {
  if (errors.length === 0) {
    return (
      <p class="muted empty-note" data-testid="no-recent-errors">
        No hook or endpoint has failed since this server started.
      </p>
    );
  }
  return (
    <div class="table-wrap">
      <table class="grid bl-errors" data-testid="recent-errors">
        <thead>
          <tr>
            <th>Time</th>
            <th>Hook / endpoint</th>
            <th>Collection</th>
            <th>Error</th>
            <th>Description</th>
          </tr>
        </thead>
        <tbody>
          {errors.map((e, i) => (
            <tr key={`${e.at}-${i}`} data-testid="recent-error">
              <td>{formatDate(e.at)}</td>
              <td>
                <span class="badge private">{e.kind}</span> <code>{e.name}</code>
              </td>
              <td>{e.collection ? <code>{e.collection}</code> : <span class="muted">—</span>}</td>
              <td>
                <span class="badge disabled">{e.error}</span>
              </td>
              <td class="wrap">
                <div>{e.description}</div>
                {e.debug && (
                  <details class="debug">
                    <summary>Debug</summary>
                    <pre>{e.debug}</pre>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
