/**
 * DocumentStore.group scenarios: one fixture, each scenario's expected groups (in any order). A
 * missing key field and a null one are one group; arrays are values of their own; only numbers
 * (not arrays of numbers, not strings) count as numeric values.
 */
import type { Filter, GroupSpec, GroupStats, StoredDocument } from '../../src/domain/ports';

export const GROUP_FIXTURE: StoredDocument[] = [
  { _id: 'g1', k: 'a', n: 1, o: { t: 'x' } },
  { _id: 'g2', k: 'a', n: 2.5 },
  { _id: 'g3', k: 'b', n: 'str' },
  { _id: 'g4', n: 4 },
  { _id: 'g5', k: null, n: [1, 2] },
  { _id: 'g6', k: 'b', n: -3, o: { t: 'x' } },
  { _id: 'g7', k: ['a'], n: 10 },
];

export interface GroupScenario {
  name: string;
  filter: Filter;
  spec: Omit<GroupSpec, 'maxGroups'>;
  /** Only the statistics the spec asks for are compared. */
  expected: Array<Partial<GroupStats> & { key: unknown[] }>;
}

export const GROUP_SCENARIOS: GroupScenario[] = [
  {
    name: 'count without keys is one group',
    filter: {},
    spec: { keys: [], statistics: 'count' },
    expected: [{ key: [], count: 7 }],
  },
  {
    name: 'count by a field: missing and null are one group, an array is its own',
    filter: {},
    spec: { keys: ['k'], statistics: 'count' },
    expected: [
      { key: ['a'], count: 2 },
      { key: ['b'], count: 2 },
      { key: [null], count: 2 },
      { key: [['a']], count: 1 },
    ],
  },
  {
    name: 'sum skips strings and arrays',
    filter: {},
    spec: { keys: ['k'], field: 'n', statistics: 'sum' },
    expected: [
      { key: ['a'], sum: 3.5 },
      { key: ['b'], sum: -3 },
      { key: [null], sum: 4 },
      { key: [['a']], sum: 10 },
    ],
  },
  {
    name: 'numeric gives count, numeric count, sum, min and max',
    filter: {},
    spec: { keys: ['k'], field: 'n', statistics: 'numeric' },
    expected: [
      { key: ['a'], count: 2, numeric: 2, sum: 3.5, min: 1, max: 2.5 },
      { key: ['b'], count: 2, numeric: 1, sum: -3, min: -3, max: -3 },
      { key: [null], count: 2, numeric: 1, sum: 4, min: 4, max: 4 },
      { key: [['a']], count: 1, numeric: 1, sum: 10, min: 10, max: 10 },
    ],
  },
  {
    name: 'numeric without keys',
    filter: {},
    spec: { keys: [], field: 'n', statistics: 'numeric' },
    expected: [{ key: [], count: 7, numeric: 5, sum: 14.5, min: -3, max: 10 }],
  },
  {
    name: 'two keys, one of them dotted',
    filter: {},
    spec: { keys: ['k', 'o.t'], statistics: 'count' },
    expected: [
      { key: ['a', 'x'], count: 1 },
      { key: ['a', null], count: 1 },
      { key: ['b', null], count: 1 },
      { key: ['b', 'x'], count: 1 },
      { key: [null, null], count: 2 },
      { key: [['a'], null], count: 1 },
    ],
  },
  {
    name: 'the filter restricts the documents',
    filter: { n: { $gt: 2 } },
    spec: { keys: ['k'], statistics: 'count' },
    expected: [
      { key: ['a'], count: 1 },
      { key: [null], count: 1 },
      { key: [['a']], count: 1 },
    ],
  },
  {
    name: 'nothing matching gives no groups',
    filter: { k: 'zzz' },
    spec: { keys: ['k'], statistics: 'count' },
    expected: [],
  },
];
