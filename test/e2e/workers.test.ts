/**
 * kinbase with KINBASE_WORKERS=2 as users run it (the built server): what each worker keeps for
 * itself must not show. Requests are addressed to a chosen worker through a connection it holds
 * (test/support/worker-agents.ts), and every answer is checked to come from that worker.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runServerToExit, startServerProcess, type ServerProcess } from '../support/server-process';
import { pinnedAgents, send } from '../support/worker-agents';

const APP = {
  KINBASE_APP_KEY: 'kid_workers',
  KINBASE_APP_SECRET: 'app-secret-1',
  KINBASE_MASTER_SECRET: 'master-secret-1',
};
const master = `Basic ${Buffer.from(`${APP.KINBASE_APP_KEY}:${APP.KINBASE_MASTER_SECRET}`).toString('base64')}`;
const json = { Authorization: master, 'Content-Type': 'application/json' };
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** The pids of the primary's worker processes. */
function workerPids(server: ServerProcess): number[] {
  const out = spawnSync('pgrep', ['-P', String(server.child.pid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}

describe('two worker processes on one port', () => {
  let dataDir: string;
  let server: ServerProcess;
  let agents: Agent[];
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-workers-'));
    server = await startServerProcess({ KINBASE_DATA_DIR: dataDir, KINBASE_WORKERS: '2', ...APP });
    agents = await pinnedAgents(server.baseUrl, 2);
  });
  afterAll(async () => {
    for (const agent of agents ?? []) agent.destroy();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A request through worker `w`'s connection; fails the test if another worker answered. */
  async function on(w: number, route: string, options: Parameters<typeof send>[1] = {}) {
    const answer = await send(`${server.baseUrl}${route}`, { ...options, agent: agents[w] });
    expect(answer.worker).toBe(String(w));
    return answer;
  }

  test('one start line names the two workers; /metrics, asked of either, sums both', async () => {
    expect(server.output()).toMatch(/\(port \d+\) with 2 worker processes/);
    for (const w of [0, 1, 1]) await on(w, `/appdata/${APP.KINBASE_APP_KEY}`, { headers: { Authorization: master } });
    for (const w of [0, 1]) {
      const text = (await on(w, '/metrics', { headers: { Authorization: master } })).body.toString();
      expect(text).toMatch(/^kinbase_worker_processes 2$/m);
      const handshakes =
        /kinbase_http_requests_total\{method="GET",route="\/appdata\/:appKey",status="200"\} (\d+)/.exec(text);
      expect(Number(handshakes?.[1])).toBeGreaterThanOrEqual(3);
    }
  });

  test('a resumable upload whose chunks alternate between the workers gets the md5 of all its bytes', async () => {
    const data = randomBytes(6 * 1024 * 1024 + 123);
    const created = await on(0, `/blob/${APP.KINBASE_APP_KEY}`, {
      method: 'POST',
      headers: { ...json, 'X-Kinvey-Content-Type': 'application/octet-stream' },
      body: JSON.stringify({ _filename: 'alternating.bin', size: data.length }),
    });
    expect(created.status).toBe(201);
    const file = JSON.parse(created.body.toString()) as { _id: string; _uploadURL: string };
    const upload = new URL(file._uploadURL);
    const chunk = 1024 * 1024;
    for (let start = 0, n = 0; start < data.length; start += chunk, n++) {
      const end = Math.min(start + chunk, data.length);
      const answer = await on(n % 2, `${upload.pathname}${upload.search}`, {
        method: 'PUT',
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `bytes ${start}-${end - 1}/${data.length}`,
        },
        body: data.subarray(start, end),
      });
      expect(answer.status).toBe(end === data.length ? 200 : 308);
    }
    for (const w of [0, 1]) {
      const meta = JSON.parse(
        (
          await on(w, `/blob/${APP.KINBASE_APP_KEY}/${file._id}`, { headers: { Authorization: master } })
        ).body.toString(),
      );
      expect(meta._uploadState).toMatchObject({ status: 'complete', bytesReceived: data.length, md5: md5(data) });
      const url = new URL(meta._downloadURL as string);
      const bytes = (await on(w, `${url.pathname}${url.search}`)).body;
      expect(md5(bytes)).toBe(md5(data));
    }
  });

  test('the same chunk sent to both workers at once is stored once (the session is locked across workers)', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const created = await on(0, `/blob/${APP.KINBASE_APP_KEY}`, {
      method: 'POST',
      headers: { ...json, 'X-Kinvey-Content-Type': 'application/octet-stream' },
      body: JSON.stringify({ _filename: 'twice.bin', size: data.length }),
    });
    const file = JSON.parse(created.body.toString()) as { _id: string; _uploadURL: string };
    const upload = new URL(file._uploadURL);
    const first = data.subarray(0, 2 * 1024 * 1024);
    const chunk = (w: number, start: number, bytes: Buffer) =>
      on(w, `${upload.pathname}${upload.search}`, {
        method: 'PUT',
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `bytes ${start}-${start + bytes.length - 1}/${data.length}`,
        },
        body: bytes,
      });
    const answers = await Promise.all([chunk(0, 0, first), chunk(1, 0, first)]);
    // Both are told what was stored when they were answered: the one that wrote the chunk, all of
    // it; the other, on a loaded machine, may be answered while the first is still writing (a prefix,
    // from which a client would resume). Never more than the chunk: it was not stored twice.
    const stored = answers.map((answer) => {
      expect(answer.status).toBe(308);
      const range = /^bytes=0-(\d+)$/.exec(String(answer.headers.range));
      expect(range).not.toBeNull();
      return Number(range![1]) + 1;
    });
    expect(Math.max(...stored)).toBe(first.length);
    expect((await chunk(1, first.length, data.subarray(first.length))).status).toBe(200);
    const meta = JSON.parse(
      (await on(0, `/blob/${APP.KINBASE_APP_KEY}/${file._id}`, { headers: { Authorization: master } })).body.toString(),
    );
    expect(meta._uploadState).toMatchObject({ status: 'complete', bytesReceived: data.length, md5: md5(data) });
  });

  test('a logout through one worker ends the session cached by the other at once, not after the cache TTL', async () => {
    const app = `Basic ${Buffer.from(`${APP.KINBASE_APP_KEY}:${APP.KINBASE_APP_SECRET}`).toString('base64')}`;
    const user = { username: 'leaver', password: 'pw-leaver-1' };
    const body = JSON.stringify(user);
    const headers = { Authorization: app, 'Content-Type': 'application/json' };
    expect((await on(0, `/user/${APP.KINBASE_APP_KEY}`, { method: 'POST', headers, body })).status).toBe(201);
    const login = await on(0, `/user/${APP.KINBASE_APP_KEY}/login`, { method: 'POST', headers, body });
    const token = (JSON.parse(login.body.toString()) as { _kmd: { authtoken: string } })._kmd.authtoken;
    const me = () => on(1, `/user/${APP.KINBASE_APP_KEY}/_me`, { headers: { Authorization: `Kinvey ${token}` } });
    expect((await me()).status).toBe(200); // worker 1 now holds the session in its cache (5 s)
    const logout = await on(0, `/user/${APP.KINBASE_APP_KEY}/_logout`, {
      method: 'POST',
      headers: { Authorization: `Kinvey ${token}` },
    });
    expect(logout.status).toBe(204);
    let status = (await me()).status;
    // The eviction travels through the primary; allow it a moment, far less than the cache's 5 s.
    for (let i = 0; i < 20 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await me()).status;
    }
    expect(status).toBe(401);
  });

  test('wrong passwords spread over both workers are refused at the single-process limit, not twice it', async () => {
    const app = `Basic ${Buffer.from(`${APP.KINBASE_APP_KEY}:${APP.KINBASE_APP_SECRET}`).toString('base64')}`;
    const headers = { Authorization: app, 'Content-Type': 'application/json' };
    const user = { username: 'guessed', password: 'pw-guessed-1' };
    expect(
      (await on(0, `/user/${APP.KINBASE_APP_KEY}`, { method: 'POST', headers, body: JSON.stringify(user) })).status,
    ).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const guess = JSON.stringify({ username: user.username, password: `wrong-${i}` });
      statuses.push(
        (await on(i % 2, `/user/${APP.KINBASE_APP_KEY}/login`, { method: 'POST', headers, body: guess })).status,
      );
    }
    // 10 failures per username per window (docs/security.md), counted in the shared SQLite file.
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429]);
    // The right password is refused as well while the lock holds, whichever worker is asked.
    const right = await on(1, `/user/${APP.KINBASE_APP_KEY}/login`, {
      method: 'POST',
      headers,
      body: JSON.stringify(user),
    });
    expect(right.status).toBe(429);
  });

  test("a private file's signed download URL is the same whichever worker answers", async () => {
    const created = await on(1, `/blob/${APP.KINBASE_APP_KEY}`, {
      method: 'POST',
      headers: { ...json, 'X-Kinvey-Content-Type': 'text/plain' },
      body: JSON.stringify({ _filename: 'private.txt', size: 5 }),
    });
    const file = JSON.parse(created.body.toString()) as { _id: string; _uploadURL: string };
    const upload = new URL(file._uploadURL);
    expect(
      (
        await on(0, `${upload.pathname}${upload.search}`, {
          method: 'PUT',
          headers: { 'Content-Type': 'text/plain' },
          body: 'hello',
        })
      ).status,
    ).toBe(200);
    const urls = [];
    for (const w of [0, 1, 0, 1]) {
      const meta = JSON.parse(
        (
          await on(w, `/blob/${APP.KINBASE_APP_KEY}/${file._id}`, { headers: { Authorization: master } })
        ).body.toString(),
      );
      urls.push(meta._downloadURL as string);
    }
    expect(urls[0]).toMatch(/signature=/);
    expect(new Set(urls).size).toBe(1);
  });

  test('a collection and its index created through one worker serve queries and unique checks on the other', async () => {
    const appdata = `/appdata/${APP.KINBASE_APP_KEY}`;
    // Sign-up makes the users' unique username index (on worker 0); worker 1 must keep it.
    const signup = await on(0, `/user/${APP.KINBASE_APP_KEY}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'ann', password: 'pw-ann-1' }),
    });
    expect(signup.status).toBe(201);
    const twin = await on(1, `/user/${APP.KINBASE_APP_KEY}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'ann', password: 'pw-ann-2' }),
    });
    expect(twin.status).toBe(409);
    for (let i = 0; i < 20; i++)
      await on(i % 2, `${appdata}/books`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ n: i, shelf: i % 3 }),
      });
    for (const w of [0, 1]) {
      const found = JSON.parse(
        (
          await on(
            w,
            `${appdata}/books?query=${encodeURIComponent('{"shelf":1}')}&sort=${encodeURIComponent('{"n":1}')}`,
            { headers: { Authorization: master } },
          )
        ).body.toString(),
      ) as { n: number }[];
      expect(found.map((b) => b.n)).toEqual([1, 4, 7, 10, 13, 16, 19]);
    }
  });

  test('a second kinbase on the same data dir is refused while the cluster serves it', async () => {
    for (const workers of ['1', '2']) {
      const second = await runServerToExit({ PORT: '0', KINBASE_DATA_DIR: dataDir, KINBASE_WORKERS: workers, ...APP });
      expect(second.code).not.toBe(0);
      expect(second.output).toMatch(/in use by another process \(one kinbase per data dir\)/);
    }
  });

  test('kill -9 of one worker under write load: every acknowledged write is found, the worker is replaced', async () => {
    const before = workerPids(server);
    expect(before).toHaveLength(2);
    const acknowledged: string[] = [];
    const failures: number[] = [];
    const lost: string[] = [];
    let writing = true;
    const writer = async (client: number) => {
      for (let i = 0; writing; i++) {
        const id = `c${client}-${i}`;
        try {
          const answer = await send(`${server.baseUrl}/appdata/${APP.KINBASE_APP_KEY}/load/${id}`, {
            method: 'PUT',
            headers: json,
            body: JSON.stringify({ _id: id, payload: 'x'.repeat(1000) }),
          });
          if (answer.status < 300) acknowledged.push(id);
          else failures.push(answer.status);
        } catch (err) {
          // The connection died with the worker: not acknowledged, so nothing is owed.
          lost.push(String(err));
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, c) => writer(c));
    await new Promise((r) => setTimeout(r, 400));
    const victim = before[1] as number;
    process.kill(victim, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 800));
    writing = false;
    await Promise.all(writers);
    expect(failures).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(20);
    expect(lost.length).toBeLessThan(8); // only requests the dead worker held

    // Replaced: two workers again, one of them new.
    for (let i = 0; i < 100 && !(workerPids(server).length === 2 && !workerPids(server).includes(victim)); i++)
      await new Promise((r) => setTimeout(r, 100));
    const after = workerPids(server);
    expect(after).toHaveLength(2);
    expect(after).not.toContain(victim);
    expect(server.output()).toMatch(/exited; starting a new one/);

    const stored = new Set<string>();
    for (let skip = 0; ; skip += 2000) {
      const page = JSON.parse(
        (
          await send(`${server.baseUrl}/appdata/${APP.KINBASE_APP_KEY}/load?fields=_id&limit=2000&skip=${skip}`, {
            headers: { Authorization: master },
          })
        ).body.toString(),
      ) as { _id: string }[];
      for (const doc of page) stored.add(doc._id);
      if (page.length < 2000) break;
    }
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });
});

test('KINBASE_WORKERS=1 serves from a single process, with no primary and no worker header', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-one-'));
  const server = await startServerProcess({ KINBASE_DATA_DIR: dataDir, KINBASE_WORKERS: '1', ...APP });
  try {
    expect(server.output()).toMatch(/\(port \d+\) with 1 process/);
    const answer = await send(`${server.baseUrl}/appdata/${APP.KINBASE_APP_KEY}`, {
      headers: { Authorization: master },
    });
    expect(answer.status).toBe(200);
    expect(answer.worker).toBeUndefined();
    expect(workerPids(server)).toEqual([]);
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('kill -9 of the primary takes its workers with it, and the next kinbase serves the data dir with every write', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-orphans-'));
  try {
    const first = await startServerProcess({ KINBASE_DATA_DIR: dataDir, KINBASE_WORKERS: '2', ...APP });
    const workers = workerPids(first);
    expect(workers).toHaveLength(2);
    const saved = await send(`${first.baseUrl}/appdata/${APP.KINBASE_APP_KEY}/notes/kept`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ note: 'written before the crash' }),
    });
    expect(saved.status).toBeLessThan(300);
    await first.stop('SIGKILL');
    // Workers whose primary is gone exit at once (node:cluster), releasing the port and the store.
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && workers.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(workers.filter(alive)).toEqual([]);

    const second = await startServerProcess({ KINBASE_DATA_DIR: dataDir, KINBASE_WORKERS: '2', ...APP });
    try {
      const read = await send(`${second.baseUrl}/appdata/${APP.KINBASE_APP_KEY}/notes/kept`, {
        headers: { Authorization: master },
      });
      expect(JSON.parse(read.body.toString())).toMatchObject({ note: 'written before the crash' });
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
