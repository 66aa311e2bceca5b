/**
 * The console's only way to the server: kinbase's public REST API, with the app's master
 * credentials in a Basic Authorization header. Every call a console view makes is one a script
 * could make with curl.
 */

/** A Kinvey-style error answer: `{"error","description","debug"}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly debug: string,
  ) {
    super(`${error}: ${description}`);
  }
}

export interface Credentials {
  readonly appKey: string;
  readonly masterSecret: string;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** The path of a URL segment: every client-chosen name is encoded, never spliced in raw. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Talks to one app with its master secret. */
export class Api {
  readonly appKey: string;
  private readonly authorization: string;

  constructor(
    credentials: Credentials,
    private readonly base = '',
  ) {
    this.appKey = credentials.appKey;
    const bytes = new TextEncoder().encode(`${credentials.appKey}:${credentials.masterSecret}`);
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    this.authorization = `Basic ${btoa(binary)}`;
  }

  /** Sends one request; resolves with the parsed JSON answer, rejects with ApiError on 4xx/5xx. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = {
      Authorization: this.authorization,
      Accept: 'application/json',
      'X-Kinvey-API-Version': '5',
      ...options.headers,
    };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}${queryString(options.query)}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiError(0, 'NetworkError', 'The server could not be reached.', String(error));
    }
    const text = await response.text();
    let body: unknown = text;
    if (text && (response.headers.get('content-type') ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!response.ok) {
      const kinvey = (body ?? {}) as { error?: unknown; description?: unknown; debug?: unknown };
      throw new ApiError(
        response.status,
        typeof kinvey.error === 'string' ? kinvey.error : `HTTP ${response.status}`,
        typeof kinvey.description === 'string' ? kinvey.description : response.statusText,
        typeof kinvey.debug === 'string' ? kinvey.debug : '',
      );
    }
    return { status: response.status, body: body as T, headers: response.headers };
  }

  /** Whether the app refused `kinveyfile_variants=thumb` (its presets have no `thumb`). */
  private noThumbVariant = false;

  /**
   * A read that asks for the `thumb` image variant of every file it shows (`kinveyfile_variants`),
   * so tiles load a small variant instead of the original; an app whose presets have no `thumb`
   * gets the same read without it (once refused, never asked again in this session).
   */
  async readWithThumbs<T = unknown>(path: string, options: RequestOptions = {}): Promise<Answer<T>> {
    if (this.noThumbVariant) return this.request<T>('GET', path, options);
    try {
      return await this.request<T>('GET', path, {
        ...options,
        query: { ...options.query, kinveyfile_variants: 'thumb' },
      });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 400 && error.debug.startsWith('kinveyfile_variants')))
        throw error;
      this.noThumbVariant = true;
      return this.request<T>('GET', path, options);
    }
  }

  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query }).then((a) => a.body);
  }

  post<T = unknown>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body, query }).then((a) => a.body);
  }

  put<T = unknown>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('PUT', path, { body, query }).then((a) => a.body);
  }

  del<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, { query }).then((a) => a.body);
  }

  /** `/appdata/<app>/<collection>[/<id>]` */
  appdata(collection: string, id?: string): string {
    return `/appdata/${seg(this.appKey)}/${seg(collection)}${id === undefined ? '' : `/${seg(id)}`}`;
  }

  /** `/blob/<app>[/<id>]` */
  blob(id?: string): string {
    return `/blob/${seg(this.appKey)}${id === undefined ? '' : `/${seg(id)}`}`;
  }

  /** `/user/<app>[/<id>]` */
  user(id?: string): string {
    return `/user/${seg(this.appKey)}${id === undefined ? '' : `/${seg(id)}`}`;
  }

  /** `/group/<app>[/<id>]` */
  group(id?: string): string {
    return `/group/${seg(this.appKey)}${id === undefined ? '' : `/${seg(id)}`}`;
  }

  /** `/admin/<app>/<what>`: kinbase's management API (master only). */
  admin(what: string): string {
    return `/admin/${seg(this.appKey)}/${what}`;
  }

  /** `GET /metrics` as Prometheus text (master credentials are accepted). */
  async metricsText(): Promise<string> {
    const answer = await this.request<string>('GET', '/metrics', { headers: { Accept: 'text/plain' } });
    return typeof answer.body === 'string' ? answer.body : '';
  }
}

/** One line for an error, as the API gave it. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.error}: ${error.description}${error.debug ? ` (${error.debug})` : ''}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * `url` if it is an http(s) URL, else undefined. Download URLs come from the server, but a Flex
 * service or a hook can shape what a read returns: nothing else (a `javascript:` URL, say) ever
 * becomes a link or an image source, on top of the CSP that would refuse it anyway.
 */
export function safeUrl(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}
