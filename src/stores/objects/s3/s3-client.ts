/**
 * The few S3 REST calls kinbase makes, over node:http(s) with keep-alive and our own SigV4 signer
 * (sigv4.ts): no SDK, so no default CRC32 checksums (which R2 and B2 refuse) and no 10+ MB of heap.
 * Path-style (`<endpoint>/<bucket>/<key>`) and virtual-host (`<bucket>.<host>/<key>`) addressing.
 * Every failure to reach the server, a 5xx or a 429 is StoreError('unavailable'); other
 * unexpected answers are S3Error with the S3 error code (never the secret, never the URL's query).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { StoreError } from '../../../domain/ports';
import { systemClock, type Clock } from '../../../internal/clock';
import {
  amzDatestamp,
  authorizationHeaders,
  deriveSigningKey,
  encodeKeyPath,
  presignObjectUrl,
  UNSIGNED_PAYLOAD,
  type SigV4Credentials,
} from './sigv4';

export interface S3ClientOptions {
  bucket: string;
  region: string;
  /** e.g. `https://<account>.r2.cloudflarestorage.com`; AWS's regional endpoint when absent. */
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  clock?: Clock;
}

/** An answer S3 gave that the caller did not expect (4xx other than 429). */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

export type Body = Buffer | readonly Buffer[] | { stream: Readable; length: number };

export interface S3Request {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** Object key (raw; encoded here); absent for bucket-level calls. */
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Body;
  /** Statuses the caller handles itself (others throw). */
  accept?: readonly number[];
}

const REQUEST_TIMEOUT_MS = 120_000;

/** The first `<Tag>...</Tag>` text of an XML answer, unescaped; undefined when absent. */
export function xmlValue(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return match ? unescapeXml(match[1] ?? '') : undefined;
}

/** Every `<Tag>...</Tag>` block of an XML answer. */
export function xmlBlocks(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] ?? '');
}

function unescapeXml(text: string): string {
  return text.replace(/&(quot|amp|lt|gt|apos|#34);/g, (_m, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'apos' ? "'" : '"',
  );
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    // Control answers are small; a huge one is drained, not kept.
    if (size <= 4 * 1024 * 1024) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class S3Client {
  readonly bucket: string;
  readonly region: string;
  /** Origin + bucket path (path-style) or the bucket's own origin (virtual-host), no trailing slash. */
  readonly bucketBase: string;
  private readonly bucketOrigin: string;
  /** Host as the HTTP client sends it (port only when not the scheme's default): what SigV4 signs. */
  private readonly bucketHost: string;
  /** '' (virtual host) or '/<bucket>' (path style). */
  private readonly bucketPath: string;
  private readonly creds: SigV4Credentials;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly clock: Clock;
  /** The signing key of one day, kept: deriving it costs four HMACs. */
  private keys = new Map<string, Buffer>();

  constructor(options: S3ClientOptions) {
    this.bucket = options.bucket;
    this.region = options.region;
    this.clock = options.clock ?? systemClock;
    this.creds = { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, region: options.region };
    const endpoint = new URL(options.endpoint ?? `https://s3.${options.region}.amazonaws.com`);
    this.bucketBase = options.forcePathStyle
      ? `${endpoint.origin}/${encodeURIComponent(options.bucket)}`
      : `${endpoint.protocol}//${options.bucket}.${endpoint.host}`;
    const base = new URL(this.bucketBase);
    this.bucketOrigin = base.origin;
    this.bucketHost = base.host;
    this.bucketPath = base.pathname.replace(/\/+$/, '');
    this.transport = endpoint.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** Where the bucket's requests go, for messages: never carries a credential. */
  get endpointForMessages(): string {
    return this.bucketBase;
  }

  objectUrl(key: string): URL {
    return new URL(`${this.bucketBase}/${encodeKeyPath(key)}`);
  }

  signingKey(date: Date): Buffer {
    const day = amzDatestamp(date);
    let key = this.keys.get(day);
    if (!key) {
      // Two days are live around midnight (and presigned URLs sign at a date of their own).
      if (this.keys.size >= 4) this.keys = new Map();
      key = deriveSigningKey(this.creds.secretAccessKey, date, this.region);
      this.keys.set(day, key);
    }
    return key;
  }

  /** A presigned GET of `key` valid from `signedAt` for `expiresInSeconds` (HMAC only, no request). */
  presignGet(key: string, signedAt: Date, expiresInSeconds: number): string {
    return presignObjectUrl(this.creds, this.signingKey(signedAt), {
      method: 'GET',
      origin: this.bucketOrigin,
      host: this.bucketHost,
      path: `${this.bucketPath}/${encodeKeyPath(key)}`,
      signedAt,
      expiresInSeconds,
    });
  }

  /**
   * Sends one signed request; resolves with the answer once its headers arrived (the caller reads
   * or drains the body). Throws StoreError('unavailable') when S3 cannot be reached or answers
   * 5xx/429, S3Error for another status not in `accept` (2xx always accepted).
   */
  async send(req: S3Request): Promise<IncomingMessage> {
    const url = req.key === undefined ? new URL(`${this.bucketBase}/`) : this.objectUrl(req.key);
    for (const [name, value] of Object.entries(req.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
    const length = bodyLength(req.body);
    if (req.method === 'PUT' || req.method === 'POST') headers['content-length'] = String(length);
    const signedAt = this.clock();
    // content-length is sent but not signed: some proxies rewrite it, and S3 does not require it.
    const { 'content-length': _len, ...toSign } = headers;
    const auth = authorizationHeaders(this.creds, this.signingKey(signedAt), {
      method: req.method,
      url,
      headers: toSign,
      payloadHash: UNSIGNED_PAYLOAD,
      signedAt,
    });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = this.transport.request(url, {
        method: req.method,
        agent: this.agent,
        headers: { ...headers, ...auth },
        timeout: REQUEST_TIMEOUT_MS,
      });
      outgoing.once('response', resolve);
      outgoing.once('error', reject);
      outgoing.once('timeout', () => outgoing.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      writeBody(outgoing, req.body, reject);
    }).catch((err: unknown) => {
      throw new StoreError('unavailable', `S3 request to ${this.bucketBase} failed: ${(err as Error).message}`, {
        cause: err,
      });
    });
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || req.accept?.includes(status)) return res;
    const text = req.method === 'HEAD' ? '' : await readText(res).catch(() => '');
    if (req.method === 'HEAD') res.resume();
    const code = xmlValue(text, 'Code') ?? `HTTP ${status}`;
    const message =
      `S3 ${req.method} on ${this.bucketBase} answered ${status} ${code}: ${xmlValue(text, 'Message') ?? ''}`.trim();
    if (status >= 500 || status === 429) throw new StoreError('unavailable', message);
    throw new S3Error(status, code, message);
  }

  /** Sends and reads the whole (small) answer as text. */
  async call(req: S3Request): Promise<{ status: number; text: string; headers: IncomingMessage['headers'] }> {
    const res = await this.send(req);
    if (req.method === 'HEAD') {
      res.resume();
      return { status: res.statusCode ?? 0, text: '', headers: res.headers };
    }
    return { status: res.statusCode ?? 0, text: await readText(res), headers: res.headers };
  }

  close(): void {
    this.agent.destroy();
  }
}

function bodyLength(body: Body | undefined): number {
  if (!body) return 0;
  if (Buffer.isBuffer(body)) return body.length;
  if ('stream' in body) return body.length;
  return (body as readonly Buffer[]).reduce((n, b) => n + b.length, 0);
}

function writeBody(outgoing: http.ClientRequest, body: Body | undefined, fail: (err: Error) => void): void {
  if (!body) return void outgoing.end();
  if (Buffer.isBuffer(body)) return void outgoing.end(body);
  if ('stream' in body) {
    body.stream.once('error', (err) => {
      outgoing.destroy(err);
      fail(err);
    });
    body.stream.pipe(outgoing);
    return;
  }
  const parts = body as readonly Buffer[];
  let index = 0;
  // Written in order with backpressure, never concatenated: a part stays one copy in memory.
  const next = (): void => {
    while (index < parts.length) {
      const ok = outgoing.write(parts[index++]);
      if (!ok) return void outgoing.once('drain', next);
    }
    outgoing.end();
  };
  next();
}
