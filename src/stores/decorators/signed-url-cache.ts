import type { Readable } from 'node:stream';
import type {
  ByteRange,
  ObjectStat,
  ObjectStore,
  SignOptions,
  UploadSessionOptions,
  UploadTarget,
} from '../../domain/ports';
import { systemClock, type Clock } from '../../internal/clock';

export interface SignedUrlCacheOptions {
  /** Most URLs kept; the least recently used goes first. */
  readonly maxEntries?: number;
  /** Told about every URL asked for: a hit (cached, or joining a signing in flight) or a miss (signed now). */
  readonly observe?: (outcome: 'hit' | 'miss') => void;
  /** Decides when a cached URL has expired; the wall clock by default. */
  readonly clock?: Clock;
}

/**
 * An ObjectStore decorator that remembers signed download URLs in a bounded LRU keyed by
 * (object, scheme, expiry). With quantised expiries (download-urls.ts) repeated reads inside one
 * window ask for the same triple, so they skip signing entirely (RSA costs about 1 ms per URL).
 * kinbase's own signers (local HMAC, GCS V4 HMAC and RSA) are pure functions of object and expiry,
 * so a cached URL is exactly what re-signing would give, on any instance; entries whose expiry has
 * passed are never served.
 */
export class SignedUrlCache implements ObjectStore {
  private readonly urls = new Map<string, { url: string; expiresAt: number }>();
  private readonly inflight = new Map<string, Promise<string>>();

  private readonly maxEntries: number;
  private readonly observe: (outcome: 'hit' | 'miss') => void;
  private readonly clock: Clock;

  constructor(
    readonly inner: ObjectStore,
    options: SignedUrlCacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 50_000;
    this.observe = options.observe ?? (() => {});
    this.clock = options.clock ?? systemClock;
  }

  get kind(): ObjectStore['kind'] {
    return this.inner.kind;
  }

  async signDownloadUrl(key: string, options: SignOptions): Promise<string> {
    const expiresAt = options.expiresAt.getTime();
    const cacheKey = `${options.https ? 's' : 'p'}${expiresAt}:${key}`;
    const hit = this.urls.get(cacheKey);
    if (hit && hit.expiresAt > this.clock().getTime()) {
      // Refresh recency: Map iteration order is insertion order, so re-insert.
      this.urls.delete(cacheKey);
      this.urls.set(cacheKey, hit);
      this.observe('hit');
      return hit.url;
    }
    const pending = this.inflight.get(cacheKey);
    this.observe(pending ? 'hit' : 'miss');
    if (pending) return pending;
    const signing = this.inner
      .signDownloadUrl(key, options)
      .then((url) => {
        this.urls.set(cacheKey, { url, expiresAt });
        if (this.urls.size > this.maxEntries) this.urls.delete(this.urls.keys().next().value as string);
        return url;
      })
      .finally(() => this.inflight.delete(cacheKey));
    this.inflight.set(cacheKey, signing);
    return signing;
  }

  /** How many URLs are cached (for tests and metrics). */
  get size(): number {
    return this.urls.size;
  }

  createUploadSession(key: string, options: UploadSessionOptions): Promise<UploadTarget> {
    return this.inner.createUploadSession(key, options);
  }
  write(
    key: string,
    body: Readable,
    options: { contentType: string; public?: boolean; filename?: string },
  ): Promise<ObjectStat> {
    return this.inner.write(key, body, options);
  }
  read(key: string, range?: ByteRange): Promise<Readable | null> {
    return this.inner.read(key, range);
  }
  stat(key: string): Promise<ObjectStat | null> {
    return this.inner.stat(key);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  deletePrefix(prefix: string): Promise<void> {
    return this.inner.deletePrefix(prefix);
  }
  cancelUpload(uploadUrl: string): Promise<void> {
    return this.inner.cancelUpload ? this.inner.cancelUpload(uploadUrl) : Promise.resolve();
  }
  sweepUploadSessions(now: Date): Promise<number> {
    return this.inner.sweepUploadSessions ? this.inner.sweepUploadSessions(now) : Promise.resolve(0);
  }
  setPublic(key: string, isPublic: boolean): Promise<void> {
    return this.inner.setPublic(key, isPublic);
  }
  uploadProgress(uploadUrl: string): Promise<number | null> {
    return this.inner.uploadProgress ? this.inner.uploadProgress(uploadUrl) : Promise.resolve(null);
  }
  publicUrl(key: string, options: { https: boolean }): string {
    return this.inner.publicUrl(key, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
