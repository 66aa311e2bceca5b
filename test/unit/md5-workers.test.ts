/**
 * MD5 in worker threads (real workers, real disk): digests equal node:crypto's for any chunking,
 * hashes interleaved on one worker stay apart, a producer ahead of the worker is held back, and a
 * closed pool fails its hashes instead of hanging, with uploads then falling back to the file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Md5Workers, md5OfFile } from '../../src/stores/objects/local-disk/md5-workers';
import { UploadSessions } from '../../src/stores/objects/local-disk/upload-sessions';

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

/** Cuts `data` into pieces of the given sizes, cycling through them. */
function pieces(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length] as number;
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

describe('Md5Workers', () => {
  let pool: Md5Workers;
  beforeEach(() => {
    pool = new Md5Workers({ size: 2 });
  });
  afterEach(() => pool.close());

  test('the digest equals node:crypto MD5 for empty, tiny, segment-sized and odd-sized chunkings', async () => {
    const data = randomBytes(3 * 256 * 1024 + 12345);
    const chunkings = [[1], [7, 1000, 65536], [256 * 1024], [256 * 1024 - 1, 2], [data.length]];
    for (const sizes of chunkings) {
      const hash = pool.start();
      const input = sizes[0] === 1 ? data.subarray(0, 5000) : data;
      for (const piece of pieces(input, sizes)) hash.update(piece);
      expect(await hash.digest()).toBe(md5(input));
    }
    expect(await pool.start().digest()).toBe(md5(Buffer.alloc(0)));
  });

  test('a chunk reused by the caller right after update() does not change the digest (bytes are copied)', async () => {
    const hash = pool.start();
    const scratch = Buffer.alloc(1000);
    const expected = createHash('md5');
    for (let i = 0; i < 600; i++) {
      scratch.fill(i % 251);
      expected.update(scratch);
      hash.update(scratch);
    }
    scratch.fill(0);
    expect(await hash.digest()).toBe(expected.digest('hex'));
  });

  test('many hashes interleaved chunk by chunk on the same workers each get their own digest', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => randomBytes(100_000 + i * 37_000));
    const hashes = inputs.map(() => pool.start());
    const cut = inputs.map((input) => pieces(input, [40_000, 3, 90_001]));
    for (let round = 0; cut.some((c) => round < c.length); round++) {
      cut.forEach((c, i) => c[round] && hashes[i]!.update(c[round]!));
    }
    // flush() between "requests" must not change anything either.
    hashes.forEach((h) => h.flush());
    expect(await Promise.all(hashes.map((h) => h.digest()))).toEqual(inputs.map(md5));
  });

  test('a producer far ahead of the worker is asked to wait, and may go on once it caught up', async () => {
    const hash = pool.start();
    const chunk = randomBytes(1024 * 1024);
    let waited = 0;
    const expected = createHash('md5');
    for (let i = 0; i < 64; i++) {
      hash.update(chunk);
      expected.update(chunk);
      const behind = hash.drained();
      if (behind) {
        waited++;
        await behind;
        expect(hash.drained()).toBeNull();
      }
    }
    // 64 MiB handed over in a tight loop cannot all be hashed at once: the high water mark bites.
    expect(waited).toBeGreaterThan(0);
    expect(await hash.digest()).toBe(expected.digest('hex'));
  });

  test('abandoned hashes free their worker state; digest() twice is refused; later hashes are unaffected', async () => {
    for (let i = 0; i < 50; i++) {
      const dropped = pool.start();
      dropped.update(randomBytes(300_000));
      dropped.abandon();
      dropped.abandon();
    }
    const data = randomBytes(500_000);
    const hash = pool.start();
    hash.update(data);
    expect(await hash.digest()).toBe(md5(data));
    await expect(hash.digest()).rejects.toThrow(/already/);
  });

  test('close() fails running hashes (digest rejects, drained() never blocks) and refuses new ones', async () => {
    const hash = pool.start();
    hash.update(randomBytes(100_000));
    await pool.close();
    expect(hash.drained()).toBeNull();
    await expect(hash.digest()).rejects.toThrow(/closed/);
    expect(() => pool.start()).toThrow(/closed/);
  });
});

describe('UploadSessions with MD5 workers', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kinbase-md5-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const open = (sessions: UploadSessions, size: number) =>
    sessions.create('app/key', {
      contentType: 'application/octet-stream',
      size,
      public: false,
      filename: 'f',
      expiresAt: new Date(Date.now() + 60_000),
    });

  test('a body sent in three requests is hashed as it arrives and the md5 handed to commit is right', async () => {
    const pool = new Md5Workers({ size: 1 });
    const sessions = new UploadSessions(dir, pool);
    try {
      const data = randomBytes(2_500_000);
      const session = await open(sessions, data.length);
      const cuts = [0, 1_000_001, 1_700_000, data.length];
      for (let i = 0; i < 3; i++) {
        const state = await sessions.append(
          session.id,
          cuts[i]!,
          Readable.from([data.subarray(cuts[i], cuts[i + 1])]),
          data.length,
        );
        expect(state.received).toBe(cuts[i + 1]);
      }
      let committed: { md5: string; size: number } | undefined;
      await sessions.complete(session.id, async (part, md5Hex, size) => {
        committed = { md5: md5Hex, size };
        expect(await md5OfFile(part)).toBe(md5Hex);
      });
      expect(committed).toEqual({ md5: md5(data), size: data.length });
    } finally {
      await pool.close();
    }
  });

  test('when the workers are gone before completion, the md5 comes from the stored bytes instead', async () => {
    const pool = new Md5Workers({ size: 1 });
    const sessions = new UploadSessions(dir, pool);
    const data = randomBytes(700_000);
    const session = await open(sessions, data.length);
    await sessions.append(session.id, 0, Readable.from([data]), data.length);
    await pool.close();
    let committed = '';
    await sessions.complete(session.id, async (_part, md5Hex) => {
      committed = md5Hex;
    });
    expect(committed).toBe(md5(data));
  });
});
