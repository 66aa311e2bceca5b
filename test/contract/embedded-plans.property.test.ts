/**
 * Index plans never change an answer: for random sequences of writes and reads (store-differential.ts),
 * the embedded store without indexes, and with every field indexed under candidate limits that
 * force plans, index walks and scans, answers every read shape exactly as the reference scan does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded/embedded.document-store';
import type { DocumentStore } from '../../src/domain/ports';
import { expectSameAsReference, FULL_PROFILE, INDEXED_FIELDS, propertySeed, sequenceOf } from './store-differential';

let work: string;
const stores: Record<string, EmbeddedDocumentStore> = {};

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'kinbase-plans-'));
  stores.unindexed = new EmbeddedDocumentStore({ dir: path.join(work, 'unindexed') });
  for (const maxCandidates of [20_000, 3, 0])
    stores[`indexed, at most ${maxCandidates} candidates`] = new EmbeddedDocumentStore({
      dir: path.join(work, `indexed-${maxCandidates}`),
      maxCandidates,
    });
});
afterAll(async () => {
  await Promise.all(Object.values(stores).map((store) => store.close()));
  await rm(work, { recursive: true, force: true });
});

let run = 0;
test('indexed plans, index walks and scans give the answers of a plain scan for every read shape', async () => {
  const indexes = async (store: DocumentStore, scope: Parameters<DocumentStore['ensureIndex']>[0]): Promise<void> => {
    if (store === stores.unindexed) return;
    for (const field of INDEXED_FIELDS) await store.ensureIndex(scope, { field });
  };
  await fc.assert(
    fc.asyncProperty(sequenceOf(FULL_PROFILE), async (steps) => {
      await expectSameAsReference(stores, `app${(run += 1)}`, steps, indexes);
    }),
    { numRuns: Number(process.env.KINBASE_PROPERTY_RUNS ?? 150), ...propertySeed() },
  );
}, 120_000);
