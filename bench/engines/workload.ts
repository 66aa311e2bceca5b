/**
 * The workload bench:engines runs on every candidate: 1 KB entities shaped like kinbase's stored
 * documents, the order-preserving index keys kinbase would store, and the sampling helpers.
 */
import { randomBytes } from 'node:crypto';

export interface BenchDoc {
  _id: string;
  category: string;
  _kmd: { lmt: string; ect: string };
  [field: string]: unknown;
}

/** Index rows per document: the declared field, `_kmd.lmt` (always indexed) and `_acl.creator`. */
export const INDEXED_FIELDS = ['category', '_kmd.lmt', '_acl.creator'] as const;
export type IndexedField = (typeof INDEXED_FIELDS)[number];

/** About ten documents share a category, whatever N. */
export const DOCS_PER_CATEGORY = 10;

const FILLER = randomBytes(600).toString('base64');
const START = Date.UTC(2024, 0, 1);

/**
 * Document i of n: a random 24-hex `_id` (inserts land all over the key space, as kinbase's ids
 * from many clients do), `category` shared by ~10 documents spread over the whole insert order,
 * and a unique, increasing `_kmd.lmt`. Serialised it is 1,000-1,100 bytes.
 */
export function makeDoc(i: number, n: number): BenchDoc {
  const lmt = new Date(START + i * 1000).toISOString();
  return {
    _id: randomBytes(12).toString('hex'),
    category: `category-${i % Math.max(1, Math.floor(n / DOCS_PER_CATEGORY))}`,
    title: `entity number ${i}`,
    price: (i * 7919) % 10_000,
    tags: ['alpha', 'beta', `t${i % 97}`],
    body: FILLER.slice(0, 600 + (i % 100)),
    _acl: { creator: `user-${i % 50}` },
    _kmd: { lmt, ect: lmt },
  };
}

/** The value a document holds at an indexed field. */
export function indexedValue(doc: BenchDoc, field: IndexedField): string {
  switch (field) {
    case 'category':
      return doc.category;
    case '_kmd.lmt':
      return doc._kmd.lmt;
    case '_acl.creator':
      return (doc._acl as { creator: string }).creator;
  }
}

/**
 * Order-preserving key bytes of a value (memcmp order = MongoDB order within a type): a type tag,
 * then for numbers the IEEE-754 bits with the sign flipped (negatives all bits flipped), for
 * strings the UTF-8 bytes. Enough for the bench's strings and numbers; a real encoder also needs
 * booleans, dates, null and escaping of NUL bytes.
 */
export function orderedKey(value: string | number): Buffer {
  if (typeof value === 'number') {
    const out = Buffer.alloc(9);
    out[0] = 0x10;
    out.writeDoubleBE(value, 1);
    if (value < 0 || Object.is(value, -0)) for (let i = 1; i < 9; i++) out[i] = ~(out[i] as number) & 0xff;
    else out[1] = (out[1] as number) | 0x80;
    return out;
  }
  return Buffer.concat([Buffer.from([0x20]), Buffer.from(value, 'utf8')]);
}

/** The quantile q (0..1) of already sorted samples. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Runs `probe` `samples` times and returns the sorted latencies in ms. */
export async function sample(samples: number, probe: (i: number) => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await probe(i);
    out.push(performance.now() - started);
  }
  return out.sort((a, b) => a - b);
}
