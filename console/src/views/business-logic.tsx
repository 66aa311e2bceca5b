/** Business Logic: the hooks, endpoints, external collections and Flex services of the app, and their last errors. */
import type { Api } from '../api';
import { ErrorBox, formatDate, useAsync } from '../components/common';
import { RecentErrors } from './business-logic-errors';
import { FunctionKind, describeInterval, handlerOf, type BusinessLogicOverview } from './business-logic-shared';

export function BusinessLogic({ api }: { api: Api }) {
  const overview = useAsync(() => api.get<BusinessLogicOverview>(api.admin('business-logic')), [api]);
  const bl = overview.value;
  return (
    <section aria-labelledby="bl-title" class="bl-view">
      <div class="toolbar titlebar">
        <h1 id="bl-title">Business Logic</h1>
        <span class="spacer" />
        {overview.loading && <span class="muted">Loading…</span>}
        <button onClick={overview.reload} aria-label="Refresh Business Logic">
          ↻ Refresh
        </button>
      </div>
      <ErrorBox error={overview.error} />
      {bl && !bl.configured && <NotConfigured />}
      {bl && bl.configured && <Configured bl={bl} />}
      {bl && (
        <div class="panel bl-section">
          <h2>
            Recent errors{' '}
            {bl.recentErrors.length > 0 && (
              <span class="badge disabled" data-testid="recent-error-count">
                {bl.recentErrors.length}
              </span>
            )}
          </h2>
          <p class="muted small">
            The last 50 failures this kinbase instance ran, newest first; kept in memory, gone at restart.
          </p>
          <RecentErrors errors={bl.recentErrors} />
        </div>
      )}
    </section>
  );
}

function NotConfigured() {
  return (
    <div class="panel bl-empty" data-testid="bl-empty">
      <h2>No Business Logic for this app</h2>
      <p>
        Business Logic comes from the app&apos;s <code>environmentFile</code>: a kinvey-cli environment file (the format{' '}
        <code>kinvey appenv export</code> writes) named by the app&apos;s entry in <code>KINBASE_APPS_FILE</code>. It
        defines collection hooks (<code>onPreSave</code>, <code>onPostFetch</code>, …), custom endpoints (with an
        optional schedule), external collections and the Flex services they call.
      </p>
      <pre class="json-view">{`[{ "appKey": "…", "appSecret": "…", "masterSecret": "…",
   "environmentFile": "./env.json",
   "flexServices": { "catalog": { "host": "https://flex.example", "secret": "…" } } }]`}</pre>
      <p class="muted">
        See “Business Logic” in the docs (docs/business-logic.md). The server reads it at start: restart kinbase after
        changing it.
      </p>
    </div>
  );
}

function Configured({ bl }: { bl: BusinessLogicOverview }) {
  return (
    <>
      <div class="panel bl-section">
        <h2>
          Collection hooks <span class="badge">{bl.collectionHooks.length}</span>
        </h2>
        {bl.collectionHooks.length === 0 ? (
          <p class="muted">No collection hooks.</p>
        ) : (
          <table class="grid" data-testid="bl-hooks">
            <thead>
              <tr>
                <th>Collection</th>
                <th>Hook</th>
                <th>Runs</th>
                <th>Service / handler</th>
              </tr>
            </thead>
            <tbody>
              {bl.collectionHooks.map((h) => (
                <tr key={`${h.collection}/${h.hook}`}>
                  <td>
                    <code>{h.collection}</code>
                  </td>
                  <td>
                    <code>{h.hook}</code>
                  </td>
                  <td>
                    <FunctionKind spec={h} />
                  </td>
                  <td>{handlerOf(h)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div class="panel bl-section">
        <h2>
          Custom endpoints <span class="badge">{bl.customEndpoints.length}</span>
        </h2>
        {bl.customEndpoints.length === 0 ? (
          <p class="muted">No custom endpoints.</p>
        ) : (
          <table class="grid" data-testid="bl-endpoints">
            <thead>
              <tr>
                <th>Name</th>
                <th>Runs</th>
                <th>Service / handler</th>
                <th>Schedule</th>
              </tr>
            </thead>
            <tbody>
              {bl.customEndpoints.map((e) => (
                <tr key={e.name}>
                  <td>
                    <code>{e.name}</code>
                    <div class="muted small">
                      <code>POST /rpc/…/custom/{e.name}</code>
                    </div>
                  </td>
                  <td>
                    <FunctionKind spec={e} />
                  </td>
                  <td>{handlerOf(e)}</td>
                  <td>
                    {e.schedule ? (
                      `${describeInterval(e.schedule.intervalSeconds)} from ${formatDate(e.schedule.start)}`
                    ) : (
                      <span class="muted">on request</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div class="bl-pair">
        <div class="panel bl-section">
          <h2>
            External collections <span class="badge">{bl.externalCollections.length}</span>
          </h2>
          {bl.externalCollections.length === 0 ? (
            <p class="muted">None: every collection is stored by kinbase.</p>
          ) : (
            <table class="grid" data-testid="bl-external">
              <thead>
                <tr>
                  <th>Collection</th>
                  <th>Flex service</th>
                  <th>Service object</th>
                </tr>
              </thead>
              <tbody>
                {bl.externalCollections.map((c) => (
                  <tr key={c.collection}>
                    <td>
                      <code>{c.collection}</code>
                    </td>
                    <td>
                      <code>{c.service}</code>
                    </td>
                    <td>
                      <code>{c.serviceObject}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div class="panel bl-section">
          <h2>
            Flex services <span class="badge">{bl.flexServices.length}</span>
          </h2>
          {bl.flexServices.length === 0 ? (
            <p class="muted">No Flex services.</p>
          ) : (
            <table class="grid" data-testid="bl-flex">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Host</th>
                </tr>
              </thead>
              <tbody>
                {bl.flexServices.map((s) => (
                  <tr key={s.name}>
                    <td>
                      <code>{s.name}</code>
                    </td>
                    <td>
                      <code>{s.host}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </>
  );
}
