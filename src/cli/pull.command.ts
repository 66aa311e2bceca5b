/**
 * `kinbase pull <url> --app-key K --master-secret M`: copies an app from a Kinvey-compatible REST
 * API (Kinvey while it runs, or another kinbase) with master credentials and the public API only:
 * collections (paged by `_id`, with `_acl` and `_kmd`; KinveyFile references kept as references),
 * users (without passwords: the API never gives hashes, so each gets a credential marked
 * `resetRequired`, and its first login is refused until its password is reset), groups, and files
 * (metadata, `_public`, `_acl`, and the bytes through their download URLs, each stored as a new
 * generation). Business Logic (hooks, endpoints) is not in the API: it comes from the kinvey-cli
 * environment file named in the apps file. Writes are upserts by `_id`: running it again refreshes.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { CollectionScope, StoredDocument } from '../domain/ports';
import { FILES_COLLECTION, GENERATION_FIELD } from '../domain/files/file-metadata';
import { newGeneration, objectKeyFor } from '../domain/files/file-keys';
import { stripFileReferences } from '../domain/files/kinvey-file-refs';
import { CREDENTIAL_COLLECTION, USER_COLLECTION } from '../domain/users/user-records';
import { GROUP_COLLECTION } from '../domain/groups/groups.service';
import { appsFileOf, newSecret, readRawApps, writeRawApps } from './apps-file';
import type { Deployment } from './deployment';
import { CliError, type Output } from './output';
import { isImportableCollection } from './archive/format';

const PAGE = 1000;
/** Fields of a file record the API adds to what is stored (links, upload state). */
const PRESENTED_FILE_FIELDS = ['_downloadURL', '_expiresAt', '_uploadURL', '_requiredHeaders', '_uploadState'];

export interface PullOptions {
  appKey: string;
  masterSecret: string;
  collections?: string;
  environmentFile?: string;
  into?: string;
  appSecret?: string;
}

export interface PullResult {
  summary: string[];
  appKey: string;
  collections: Record<string, number>;
  users: number;
  groups: number | null;
  files: number;
  notPulled: string[];
}

export async function pullApp(
  deployment: Deployment,
  env: Record<string, string | undefined>,
  url: string,
  options: PullOptions,
  out: Output,
): Promise<PullResult> {
  const base = url.replace(/\/+$/, '');
  const source = new Source(base, options.appKey, options.masterSecret);
  await source.get(`/appdata/${encodeURIComponent(options.appKey)}`); // the handshake: checks URL and credentials
  const target = options.into ?? options.appKey;
  const names = await collectionNames(source, options);
  const bad = names.find((name) => name === 'user' || name.startsWith('_') || !isImportableCollection(name));
  if (bad !== undefined) throw new CliError(`${JSON.stringify(bad)} is not a collection name pull copies`);
  if (!deployment.apps.some((a) => a.appKey === target)) await addApp(deployment, env, target, options);

  const result: PullResult = {
    summary: [],
    appKey: target,
    collections: {},
    users: 0,
    groups: null,
    files: 0,
    notPulled: [
      'password hashes (pulled users must reset their password before their first login)',
      'sessions',
      'Business Logic: hooks, custom endpoints and scheduled code come from the kinvey-cli environment file (environmentFile in the apps file)',
    ],
  };
  for (const name of names) {
    const scope = { appKey: target, collection: name };
    result.collections[name] = await copyPaged(
      source,
      `/appdata/${enc(options.appKey)}/${enc(name)}`,
      out,
      name,
      (docs) =>
        deployment.documents.putMany(
          scope,
          docs.map((d) => stripFileReferences(d)),
        ),
    );
  }
  const credentials: CollectionScope = { appKey: target, collection: CREDENTIAL_COLLECTION };
  result.users = await copyPaged(source, `/user/${enc(options.appKey)}/`, out, 'users', async (docs) => {
    const users = docs.map(({ password: _password, _kmd, ...user }) => {
      const { authtoken: _token, ...kmd } = (_kmd ?? {}) as Record<string, unknown>;
      return { ...user, _kmd: kmd };
    });
    await deployment.documents.putMany({ appKey: target, collection: USER_COLLECTION }, users);
    const known = new Set(
      (
        await deployment.documents.findByIds(
          credentials,
          users.map((u) => u._id),
        )
      ).map((c) => c._id),
    );
    await deployment.documents.putMany(
      credentials,
      users.filter((u) => !known.has(u._id)).map((u) => ({ _id: u._id, resetRequired: true })),
    );
  });
  try {
    result.groups = await copyPaged(source, `/group/${enc(options.appKey)}`, out, 'groups', (docs) =>
      deployment.documents.putMany({ appKey: target, collection: GROUP_COLLECTION }, docs),
    );
  } catch (err) {
    if (!(err instanceof CliError && /\b(404|405)\b/.test(err.message))) throw err;
    result.notPulled.push('groups (this API does not list them)');
  }
  result.files = await copyPaged(source, `/blob/${enc(options.appKey)}/`, out, 'files', async (docs) => {
    const records: StoredDocument[] = [];
    for (const doc of docs) records.push(await copyFile(deployment, source, target, doc));
    await deployment.documents.putMany({ appKey: target, collection: FILES_COLLECTION }, records);
  });
  result.summary = [
    `pulled ${options.appKey} from ${base}${target === options.appKey ? '' : ` as ${target}`}: ${
      Object.entries(result.collections)
        .map(([n, c]) => `${n} ${c}`)
        .join(', ') || 'no collections'
    }; ${result.users} users; ${result.groups ?? 'no'} groups; ${result.files} files`,
    `${result.users} users have no password here: each must reset it (user-password-reset-initiate) before logging in`,
    `not pulled: ${result.notPulled.join('; ')}`,
  ];
  return result;
}

function enc(value: string): string {
  return encodeURIComponent(value);
}

class Source {
  private readonly auth: string;
  constructor(
    private readonly base: string,
    appKey: string,
    masterSecret: string,
  ) {
    this.auth = `Basic ${Buffer.from(`${appKey}:${masterSecret}`).toString('base64')}`;
  }

  async get(path: string): Promise<unknown> {
    const response = await this.fetch(`${this.base}${path}`, { authorization: this.auth, 'x-kinvey-api-version': '5' });
    return response.json();
  }

  /** How many documents a list endpoint holds (its `_count`), or 0 when the API does not say. */
  async count(path: string): Promise<number> {
    try {
      const answer = (await this.get(`${path.replace(/\/$/, '')}/_count`)) as { count?: unknown };
      return typeof answer.count === 'number' ? answer.count : 0;
    } catch {
      return 0; // only the progress bar needs it
    }
  }

  async fetch(url: string, headers: Record<string, string> = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(url, { headers });
    } catch (err) {
      throw new CliError(`cannot reach ${url}: ${(err as Error).message}`);
    }
    if (!response.ok) {
      const text = (await response.text()).slice(0, 300);
      throw new CliError(`${url.split('?')[0]} answered ${response.status}: ${text}`);
    }
    return response;
  }
}

/** Pages through a list endpoint by `_id`, handing each page to `store`; returns how many documents. */
async function copyPaged(
  source: Source,
  path: string,
  out: Output,
  label: string,
  store: (docs: StoredDocument[]) => Promise<void>,
): Promise<number> {
  let after: string | null = null;
  let count = 0;
  const bar = out.progress(label, out.json ? 0 : await source.count(path));
  for (;;) {
    const query = after === null ? {} : { _id: { $gt: after } };
    const params = new URLSearchParams({
      query: JSON.stringify(query),
      sort: JSON.stringify({ _id: 1 }),
      limit: String(PAGE),
    });
    const page = await source.get(`${path}?${params.toString()}`);
    if (!Array.isArray(page)) throw new CliError(`${path} did not answer a list`);
    const docs = (page as unknown[]).filter(
      (d): d is StoredDocument =>
        typeof d === 'object' && d !== null && typeof (d as { _id?: unknown })._id === 'string',
    );
    if (docs.length > 0) await store(docs);
    count += docs.length;
    bar.increment(docs.length);
    if (page.length < PAGE || docs.length === 0) break;
    after = (docs[docs.length - 1] as StoredDocument)._id;
  }
  bar.stop();
  return count;
}

/** Downloads a file's bytes into a new generation and returns its record as stored. */
async function copyFile(
  deployment: Deployment,
  source: Source,
  target: string,
  doc: StoredDocument,
): Promise<StoredDocument> {
  const record: Record<string, unknown> = { ...doc };
  for (const field of PRESENTED_FILE_FIELDS) delete record[field];
  const url = doc._downloadURL;
  if (typeof url !== 'string') return record as StoredDocument; // no bytes yet
  const response = await source.fetch(url);
  if (!response.body) return record as StoredDocument;
  const generation = newGeneration();
  await deployment.objects.write(objectKeyFor(target, doc._id, generation), Readable.fromWeb(response.body), {
    contentType: typeof doc.mimeType === 'string' ? doc.mimeType : 'application/octet-stream',
    public: doc._public === true,
    ...(typeof doc._filename === 'string' ? { filename: doc._filename } : {}),
  });
  record[GENERATION_FIELD] = generation;
  return record as StoredDocument;
}

/** The collections to pull: named, from an environment file, or listed by a kinbase source. */
async function collectionNames(source: Source, options: PullOptions): Promise<string[]> {
  if (options.collections)
    return options.collections
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
  if (options.environmentFile) {
    const file = JSON.parse(await readFile(options.environmentFile, 'utf8')) as {
      collections?: Record<string, unknown>;
    };
    return Object.keys(file.collections ?? {});
  }
  let listed: unknown;
  try {
    listed = await source.get(`/admin/${enc(options.appKey)}/collections`);
  } catch {
    throw new CliError(
      'this API does not list its collections (Kinvey does not): pass --collections or --environment-file',
    );
  }
  if (!Array.isArray(listed)) throw new CliError('the collections list is not a list');
  return listed
    .map((c) => (typeof c === 'string' ? c : (c as { name?: unknown }).name))
    .filter((n): n is string => typeof n === 'string' && n !== 'user' && !n.startsWith('_'));
}

async function addApp(
  deployment: Deployment,
  env: Record<string, string | undefined>,
  target: string,
  options: PullOptions,
) {
  if (deployment.config.apps)
    throw new CliError(`app ${target} is not configured in this deployment: add it to the apps configuration first`);
  const file = appsFileOf(deployment.config, env);
  const raw = (await readRawApps(file)) ?? [];
  const app = {
    appKey: target,
    appSecret: options.appSecret ?? newSecret(),
    masterSecret: options.masterSecret,
    name: target,
    collections: {},
  };
  await writeRawApps(file, [...raw, app]);
  deployment.apps.push({ ...app, collections: {} });
}
