/** The export format's pieces: NDJSON lines across read chunks, Dates, and paths a manifest may name. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { NdjsonWriter, readLines } from '../../src/cli/archive/ndjson';
import {
  CARRIED_INTERNAL,
  TRANSIENT_COLLECTIONS,
  decodeDocument,
  encodeDocument,
  entryPath,
  isImportableCollection,
  withoutStoredVariants,
} from '../../src/cli/archive/format';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

describe('export archive format', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('kinbase-archive-');
  });
  afterEach(() => removeTempDir(dir));

  const collect = async (file: string) => {
    const lines: { line: number; text: string }[] = [];
    for await (const line of readLines(file)) lines.push(line);
    return lines;
  };

  test('lines longer than a read chunk, with characters of several bytes across chunk edges, come back whole', async () => {
    const file = path.join(dir, 'c.ndjson');
    const writer = new NdjsonWriter(file);
    const docs = [
      { _id: 'a', text: 'é€😀'.repeat(150_000) },
      { _id: 'b', when: new Date(1234), nested: { at: new Date(5678) } },
    ];
    for (const doc of docs) await writer.write(doc);
    const { lines, sha256 } = await writer.close();
    expect({ lines, sha256 }).toEqual({ lines: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const read = await collect(file);
    expect(read.map((l) => l.line)).toEqual([1, 2]);
    expect(read.map((l) => decodeDocument(l.text))).toEqual(docs);
  });

  test('a file that ends in the middle of a line is truncated at that line', async () => {
    const file = path.join(dir, 't.ndjson');
    writeFileSync(file, `${encodeDocument({ _id: 'a' })}\n{"_id":"b","v`);
    await expect(collect(file)).rejects.toThrow('line 2: truncated (the file ends in the middle of a line)');
  });

  test.each(['../x', '/etc/passwd', 'a/../../x', 'a\\b', 'a//b', './a', ''])('a manifest path %p stays out', (rel) => {
    expect(entryPath(dir, rel)).toBeNull();
  });

  test('a manifest path inside the export resolves under it', () => {
    expect(entryPath(dir, 'apps/0/files/3')).toBe(path.join(dir, 'apps', '0', 'files', '3'));
  });

  test('roles and their memberships travel; mailed links and the shared login counters do not, and are not importable', () => {
    for (const name of ['_role', '_roleMember']) expect(isImportableCollection(name)).toBe(true);
    for (const name of ['_accountLink', '_kinbaseEvents', '_kinbaseLogs']) {
      expect(TRANSIENT_COLLECTIONS.has(name)).toBe(true);
      expect(CARRIED_INTERNAL.has(name)).toBe(false);
      expect(isImportableCollection(name)).toBe(false);
    }
  });

  test('a file record keeps its image facts but not the variants stored beside it (the target makes them again)', () => {
    const record = {
      _id: 'f1',
      _filename: 'a.png',
      _kinbaseImage: {
        generation: 'g1',
        status: 'ok',
        width: 40,
        height: 30,
        thumbhash: 'abc',
        variants: { thumb: 'd1' },
      },
    };
    expect(withoutStoredVariants(record)).toEqual({
      _id: 'f1',
      _filename: 'a.png',
      _kinbaseImage: { generation: 'g1', status: 'ok', width: 40, height: 30, thumbhash: 'abc' },
    });
    expect(withoutStoredVariants({ _id: 'f2' })).toEqual({ _id: 'f2' });
  });
});
