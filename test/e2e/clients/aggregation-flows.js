/**
 * `store.group(Kinvey.Aggregation.…)` flows both SDK generations run against a kinbase server:
 * one line `FLOW {"flow":…,"value":…}` or `FLOW {"flow":…,"error":{name,message,debug}}` per
 * aggregation; test/e2e/sdk-aggregation.test.ts asserts them.
 */
const { flow } = require('./flow-report');

const SALES = [
  { region: 'eu', amount: 10 },
  { region: 'eu', amount: 20 },
  { region: 'eu', amount: 30 },
  { region: 'us', amount: 5 },
];

/** Groups sorted by their JSON, so the assertions do not depend on the server's order. */
const sorted = (groups) => [...groups].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

async function runAggregationFlows({ Kinvey, sdk }) {
  const { User, DataStore, DataStoreType, Aggregation, Query } = Kinvey;
  const username = `${sdk}-agg-${Date.now()}`;
  const store = DataStore.collection(`sales_${sdk.replace(/\W/g, '_')}`, DataStoreType.Network);
  const group = async (aggregation) => sorted(await store.group(aggregation).toPromise());

  await flow('setup', async () => {
    await User.signup({ username, password: 'pw-agg' });
    if (!(await User.getActiveUser())) await User.login(username, 'pw-agg');
    for (const sale of SALES) await store.save({ ...sale });
    return SALES.length;
  });
  await flow('count by region', () => group(Aggregation.count('region')));
  await flow('sum', () => group(Aggregation.sum('amount')));
  await flow('sum by region', () => group(Aggregation.sum('amount').by('region')));
  await flow('min', () => group(Aggregation.min('amount')));
  await flow('max', () => group(Aggregation.max('amount')));
  await flow('average', () => group(Aggregation.average('amount')));
  await flow('count with a condition', () => {
    const aggregation = Aggregation.count('region');
    aggregation.query = new Query().greaterThanOrEqualTo('amount', 20);
    return group(aggregation);
  });
  await flow('a custom reducer', async () => {
    const aggregation = new Aggregation({
      initial: { n: 0 },
      reduceFn: 'function(doc, out) { out.n += doc.amount * 2; return out; }',
    });
    await group(aggregation);
  });
}

module.exports = { runAggregationFlows };
