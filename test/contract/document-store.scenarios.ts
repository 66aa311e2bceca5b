/**
 * The fixture collection and the query scenarios every DocumentStore must answer identically.
 * Expected ids are listed in the order the store must return them.
 */
import type { Filter, FindOptions, StoredDocument } from '../../src/domain/ports';

export const ID12 = '0123456789ab';
export const ID24 = '5f1e9c8b7a6d5e4f3a2b1c0d';

/** Nulls, missing fields, arrays, nested objects, mixed types, ObjectId-looking ids. */
export const FIXTURE: StoredDocument[] = [
  {
    _id: ID12,
    n: -5,
    s: 'elder\nberry',
    tags: ['green'],
    nested: { x: 0, y: 'z' },
    mixed: { a: 1 },
    when: new Date('2024-01-01T00:00:00Z'),
  },
  { _id: ID24, n: 10, s: 'date', tags: [], mixed: [1, 2], opt: 'set', when: new Date('2024-06-01T00:00:00Z') },
  {
    _id: 'a1',
    n: 1,
    s: 'apple',
    tags: ['red', 'fruit'],
    nested: { x: 1, y: 'p' },
    mixed: 1,
    flag: true,
    items: [
      { k: 'a', v: 1 },
      { k: 'b', v: 2 },
    ],
  },
  {
    _id: 'a2',
    n: 2,
    s: 'Banana',
    tags: ['yellow', 'fruit'],
    nested: { x: 2, y: 'q' },
    mixed: 'one',
    flag: false,
    opt: null,
    items: [{ k: 'a', v: 5 }],
  },
  {
    _id: 'a3',
    n: 3,
    s: 'cherry',
    tags: ['red'],
    nested: { x: 3 },
    mixed: null,
    items: [
      { k: 'b', v: 1 },
      { k: 'c', v: 9 },
    ],
    when: new Date('2023-01-01T00:00:00Z'),
  },
  { _id: 'b1', n: 2.5, s: 'apricot pie' },
  { _id: 'b2', n: null, s: 'B', tags: 'red', mixed: true },
  { _id: 'c1', n: '7', tags: ['red', 'red'], nested: { y: 'p', x: 1 } },
];

const ALL = [ID12, ID24, 'a1', 'a2', 'a3', 'b1', 'b2', 'c1'];
const except = (...ids: string[]): string[] => ALL.filter((id) => !ids.includes(id));

/**
 * Known deviations of a test server from MongoDB, declared by the adapter's test so the suite checks
 * the deviation itself (and fails once it disappears) instead of skipping anything.
 */
export type ServerGap =
  /** FerretDB 1.24 accepts only operator expressions inside $elemMatch (`{$gt: 1}`), not field conditions. */
  | 'elemMatch-field-conditions'
  /** FerretDB 1.24 lets a unique, non-sparse index hold many documents without the field. */
  | 'unique-index-ignores-missing';

export interface FindScenario {
  name: string;
  gap?: ServerGap;
  filter: Filter;
  options?: FindOptions;
  expected: string[];
}

export const FILTER_SCENARIOS: FindScenario[] = [
  { name: 'an empty filter returns everything in _id order', filter: {}, expected: ALL },
  { name: 'number equality', filter: { n: 2 }, expected: ['a2'] },
  { name: 'fractional number equality', filter: { n: 2.5 }, expected: ['b1'] },
  { name: 'a string never equals a number', filter: { n: 7 }, expected: [] },
  { name: 'string equality', filter: { n: '7' }, expected: ['c1'] },
  { name: 'null matches null and missing fields', filter: { opt: null }, expected: except(ID24) },
  { name: 'null on a field present everywhere matches only null', filter: { n: null }, expected: ['b2'] },
  {
    name: 'a scalar matches array elements and equal scalars',
    filter: { tags: 'red' },
    expected: ['a1', 'a3', 'b2', 'c1'],
  },
  { name: 'an array matches the whole array in order', filter: { tags: ['red', 'fruit'] }, expected: ['a1'] },
  { name: 'whole-array equality is order sensitive', filter: { tags: ['fruit', 'red'] }, expected: [] },
  { name: 'an empty array matches empty arrays', filter: { tags: [] }, expected: [ID24] },
  { name: 'an embedded document matches field order exactly', filter: { nested: { x: 1, y: 'p' } }, expected: ['a1'] },
  { name: 'a dot path into objects', filter: { 'nested.x': 1 }, expected: ['a1', 'c1'] },
  {
    name: 'a dot path with null matches where the leaf is missing',
    filter: { 'nested.y': null },
    expected: [ID24, 'a3', 'b1', 'b2'],
  },
  { name: 'a dot path through an array of objects', filter: { 'items.k': 'b' }, expected: ['a1', 'a3'] },
  { name: 'a numeric segment indexes into an array', filter: { 'tags.0': 'red' }, expected: ['a1', 'a3', 'c1'] },
  { name: 'a second array position', filter: { 'tags.1': 'fruit' }, expected: ['a1', 'a2'] },
  { name: 'an array index followed by a field', filter: { 'items.1.v': 9 }, expected: ['a3'] },
  { name: 'a number matches inside mixed arrays', filter: { mixed: 1 }, expected: [ID24, 'a1'] },
  { name: 'an embedded document equality on a mixed field', filter: { mixed: { a: 1 } }, expected: [ID12] },
  { name: 'boolean equality', filter: { flag: false }, expected: ['a2'] },
  { name: 'date equality', filter: { when: new Date('2024-01-01T00:00:00Z') }, expected: [ID12] },
  { name: 'an ObjectId-looking id matches as a string', filter: { _id: ID24 }, expected: [ID24] },
  { name: '$eq', filter: { n: { $eq: 3 } }, expected: ['a3'] },
  { name: '$gt compares numbers only with numbers', filter: { n: { $gt: 2 } }, expected: [ID24, 'a3', 'b1'] },
  { name: '$gte', filter: { n: { $gte: 2 } }, expected: [ID24, 'a2', 'a3', 'b1'] },
  { name: '$lt ignores nulls', filter: { n: { $lt: 2 } }, expected: [ID12, 'a1'] },
  { name: '$lte', filter: { n: { $lte: 1 } }, expected: [ID12, 'a1'] },
  { name: '$gte with a string compares only strings', filter: { n: { $gte: '0' } }, expected: ['c1'] },
  { name: '$gt on strings is binary (uppercase first)', filter: { s: { $gt: 'b' } }, expected: [ID12, ID24, 'a3'] },
  { name: '$lt on strings', filter: { s: { $lt: 'a' } }, expected: ['a2', 'b2'] },
  { name: 'a range', filter: { n: { $gt: 1, $lt: 3 } }, expected: ['a2', 'b1'] },
  { name: '$gt on array elements', filter: { 'items.v': { $gt: 4 } }, expected: ['a2', 'a3'] },
  { name: '$gt on strings inside arrays', filter: { tags: { $gt: 'x' } }, expected: ['a2'] },
  { name: '$gte on mixed types', filter: { mixed: { $gte: 1 } }, expected: [ID24, 'a1'] },
  { name: '$gt on dates', filter: { when: { $gt: new Date('2023-06-01T00:00:00Z') } }, expected: [ID12, ID24] },
  { name: '$ne includes missing and null', filter: { n: { $ne: 2 } }, expected: except('a2') },
  { name: '$ne null means present and not null', filter: { opt: { $ne: null } }, expected: [ID24] },
  {
    name: '$ne excludes arrays containing the value',
    filter: { tags: { $ne: 'red' } },
    expected: [ID12, ID24, 'a2', 'b1'],
  },
  { name: '$in with mixed types', filter: { n: { $in: [1, 3, '7'] } }, expected: ['a1', 'a3', 'c1'] },
  { name: '$in on arrays', filter: { tags: { $in: ['yellow', 'green'] } }, expected: [ID12, 'a2'] },
  { name: '$in with null matches missing', filter: { opt: { $in: [null] } }, expected: except(ID24) },
  { name: '$in with regular expressions', filter: { s: { $in: [/^a/, 'B'] } }, expected: ['a1', 'b1', 'b2'] },
  { name: '$in with an empty list matches nothing', filter: { n: { $in: [] } }, expected: [] },
  { name: '$nin', filter: { n: { $nin: [1, 2, null] } }, expected: [ID12, ID24, 'a3', 'b1', 'c1'] },
  { name: '$nin on arrays', filter: { tags: { $nin: ['red'] } }, expected: [ID12, ID24, 'a2', 'b1'] },
  { name: '$all', filter: { tags: { $all: ['red', 'fruit'] } }, expected: ['a1'] },
  { name: '$all with one value', filter: { tags: { $all: ['fruit'] } }, expected: ['a1', 'a2'] },
  { name: '$exists true', filter: { opt: { $exists: true } }, expected: [ID24, 'a2'] },
  { name: '$exists false', filter: { opt: { $exists: false } }, expected: except(ID24, 'a2') },
  { name: '$exists on a dot path', filter: { 'nested.y': { $exists: true } }, expected: [ID12, 'a1', 'a2', 'c1'] },
  { name: '$exists through arrays', filter: { 'items.k': { $exists: true } }, expected: ['a1', 'a2', 'a3'] },
  { name: '$size', filter: { tags: { $size: 2 } }, expected: ['a1', 'a2', 'c1'] },
  { name: '$size 0', filter: { tags: { $size: 0 } }, expected: [ID24] },
  { name: '$size ignores scalars', filter: { tags: { $size: 1 } }, expected: [ID12, 'a3'] },
  { name: '$mod', filter: { n: { $mod: [3, 1] } }, expected: [ID24, 'a1'] },
  { name: '$mod with a negative dividend', filter: { n: { $mod: [2, -1] } }, expected: [ID12] },
  { name: '$regex', filter: { s: { $regex: '^a' } }, expected: ['a1', 'b1'] },
  { name: '$regex with $options i', filter: { s: { $regex: '^b', $options: 'i' } }, expected: ['a2', 'b2'] },
  { name: 'a RegExp value', filter: { s: /^B/ }, expected: ['a2', 'b2'] },
  { name: '$regex with a RegExp', filter: { s: { $regex: /an/ } }, expected: ['a2'] },
  { name: '$regex with $options m', filter: { s: { $regex: '^berry', $options: 'm' } }, expected: [ID12] },
  { name: '$regex without m anchors at the start only', filter: { s: { $regex: '^berry' } }, expected: [] },
  { name: '$regex with $options s', filter: { s: { $regex: 'elder.berry', $options: 's' } }, expected: [ID12] },
  { name: '$regex without s does not match newlines', filter: { s: { $regex: 'elder.berry' } }, expected: [] },
  {
    name: '$regex with $options x ignores whitespace and comments',
    filter: { s: { $regex: '^a p # two letters\n p', $options: 'x' } },
    expected: ['a1'],
  },
  {
    name: '$regex with $options x keeps escaped whitespace',
    filter: { s: { $regex: 'apricot\\ pie', $options: 'x' } },
    expected: ['b1'],
  },
  { name: '$regex on array elements', filter: { tags: { $regex: '^ye' } }, expected: ['a2'] },
  { name: '$regex matches strings only', filter: { n: { $regex: '7' } }, expected: ['c1'] },
  { name: '$not with an operator', filter: { n: { $not: { $gt: 2 } } }, expected: [ID12, 'a1', 'a2', 'b2', 'c1'] },
  {
    name: '$not with a RegExp includes missing fields',
    filter: { s: { $not: /^a/ } },
    expected: [ID12, ID24, 'a2', 'a3', 'b2', 'c1'],
  },
  { name: '$or', filter: { $or: [{ n: 1 }, { s: 'date' }] }, expected: [ID24, 'a1'] },
  { name: '$and on the same field', filter: { $and: [{ tags: 'red' }, { tags: 'fruit' }] }, expected: ['a1'] },
  { name: '$nor', filter: { $nor: [{ tags: 'red' }, { n: { $lt: 0 } }] }, expected: [ID24, 'a2', 'b1'] },
  {
    name: 'nested $and of $or',
    filter: { $and: [{ $or: [{ n: 1 }, { n: 3 }] }, { $or: [{ tags: 'red' }, { flag: true }] }] },
    expected: ['a1', 'a3'],
  },
  { name: 'several fields are an implicit $and', filter: { n: { $gt: 0 }, tags: 'fruit' }, expected: ['a1', 'a2'] },
  {
    name: '$elemMatch needs one element to match everything',
    filter: { items: { $elemMatch: { k: 'b', v: 1 } } },
    gap: 'elemMatch-field-conditions',
    expected: ['a3'],
  },
  { name: 'dot paths may match different elements', filter: { 'items.k': 'b', 'items.v': 1 }, expected: ['a1', 'a3'] },
  {
    name: '$elemMatch with operators on fields',
    filter: { items: { $elemMatch: { k: 'a', v: { $gt: 2 } } } },
    gap: 'elemMatch-field-conditions',
    expected: ['a2'],
  },
  { name: '$elemMatch with operators on values', filter: { mixed: { $elemMatch: { $gt: 1 } } }, expected: [ID24] },
  {
    name: '$elemMatch ignores scalars',
    filter: { tags: { $elemMatch: { $eq: 'red' } } },
    expected: ['a1', 'a3', 'c1'],
  },
];

export const SORT_SCENARIOS: FindScenario[] = [
  {
    name: 'numbers ascending: null first, strings after numbers',
    filter: {},
    options: { sort: [['n', 1]] },
    expected: ['b2', ID12, 'a1', 'a2', 'b1', 'a3', ID24, 'c1'],
  },
  {
    name: 'numbers descending',
    filter: {},
    options: { sort: [['n', -1]] },
    expected: ['c1', ID24, 'a3', 'b1', 'a2', 'a1', ID12, 'b2'],
  },
  {
    name: 'missing and null tie, broken by _id',
    filter: {},
    options: { sort: [['opt', 1]] },
    expected: [...except(ID24), ID24],
  },
  {
    name: 'missing and null tie descending too',
    filter: {},
    options: { sort: [['opt', -1]] },
    expected: [ID24, ...except(ID24)],
  },
  {
    name: 'arrays sort ascending by their smallest element',
    filter: { tags: { $not: { $size: 0 } } },
    options: { sort: [['tags', 1]] },
    expected: ['b1', 'a1', 'a2', ID12, 'a3', 'b2', 'c1'],
  },
  {
    name: 'arrays sort descending by their largest element',
    filter: { tags: { $not: { $size: 0 } } },
    options: { sort: [['tags', -1]] },
    expected: ['a2', 'a1', 'a3', 'b2', 'c1', ID12, 'b1'],
  },
  {
    name: 'an empty array sorts before null',
    filter: {},
    options: { sort: [['tags', 1]] },
    expected: [ID24, 'b1', 'a1', 'a2', ID12, 'a3', 'b2', 'c1'],
  },
  {
    name: 'two keys with missing values',
    filter: {},
    options: {
      sort: [
        ['flag', -1],
        ['n', 1],
      ],
    },
    expected: ['a1', 'a2', 'b2', ID12, 'b1', 'a3', ID24, 'c1'],
  },
  {
    name: 'a dotted key then a descending key',
    filter: {},
    options: {
      sort: [
        ['nested.x', 1],
        ['s', -1],
      ],
    },
    expected: [ID24, 'b1', 'b2', ID12, 'a1', 'c1', 'a2', 'a3'],
  },
  {
    name: 'mixed types follow BSON order',
    filter: {},
    options: { sort: [['mixed', 1]] },
    expected: ['a3', 'b1', 'c1', ID24, 'a1', 'a2', ID12, 'b2'],
  },
  {
    name: 'mixed types descending',
    filter: {},
    options: { sort: [['mixed', -1]] },
    expected: ['b2', ID12, 'a2', ID24, 'a1', 'a3', 'b1', 'c1'],
  },
  {
    name: 'dates descending',
    filter: {},
    options: { sort: [['when', -1]] },
    expected: [ID24, ID12, 'a3', 'a1', 'a2', 'b1', 'b2', 'c1'],
  },
  {
    name: 'strings sort by code point',
    filter: {},
    options: { sort: [['s', 1]] },
    expected: ['c1', 'b2', 'a2', 'a1', 'b1', 'a3', ID24, ID12],
  },
  { name: '_id descending', filter: {}, options: { sort: [['_id', -1]] }, expected: [...ALL].reverse() },
  {
    name: 'skip and limit apply after sorting',
    filter: {},
    options: { sort: [['n', 1]], skip: 2, limit: 3 },
    expected: ['a1', 'a2', 'b1'],
  },
  { name: 'skip in default order', filter: {}, options: { skip: 6 }, expected: ['b2', 'c1'] },
  { name: 'limit in default order', filter: {}, options: { limit: 1 }, expected: [ID12] },
  {
    name: 'filter, sort and paging together',
    filter: { tags: 'red' },
    options: { sort: [['s', -1]], skip: 1, limit: 2 },
    expected: ['a1', 'b2'],
  },
];

export interface ProjectionScenario {
  name: string;
  id: string;
  fields: string[];
  expected: StoredDocument;
}

export const PROJECTION_SCENARIOS: ProjectionScenario[] = [
  { name: 'one top-level field', id: 'a1', fields: ['s'], expected: { _id: 'a1', s: 'apple' } },
  {
    name: 'a dotted field and a top-level field',
    id: 'a3',
    fields: ['nested.x', 'n'],
    expected: { _id: 'a3', n: 3, nested: { x: 3 } },
  },
  {
    name: 'a dotted field through an array of objects',
    id: 'a1',
    fields: ['items.k'],
    expected: { _id: 'a1', items: [{ k: 'a' }, { k: 'b' }] },
  },
  { name: 'a missing field leaves only _id', id: 'b1', fields: ['nothing'], expected: { _id: 'b1' } },
  {
    name: 'a field and a field inside it',
    id: 'a2',
    fields: ['nested', 'nested.x'],
    expected: { _id: 'a2', nested: { x: 2, y: 'q' } },
  },
  {
    name: 'arrays and dates come back whole',
    id: ID24,
    fields: ['mixed', 'when'],
    expected: { _id: ID24, mixed: [1, 2], when: new Date('2024-06-01T00:00:00Z') },
  },
];
