/**
 * External collections: a collection whose entities live behind a Flex service object. Each method
 * is one call to the service object routes kinvey-code-task-runner's receiver serves.
 */
import { errors } from '../../domain/errors';
import type { FlexServiceSpec } from '../types';
import {
  flexError,
  flexHeaders,
  pathSegment,
  type FlexAnswer,
  type FlexApp,
  type FlexCall,
  type FlexCaller,
  type FlexClient,
} from './flex-client';

/** The service object a collection is backed by (`externalCollections.<name>` resolved). */
export interface FlexDataTarget {
  readonly service: FlexServiceSpec;
  /** The service's key in the app's flexServices. */
  readonly serviceName: string;
  readonly serviceObject: string;
}

/** The app and the client request a data call serves. */
export interface FlexDataContext extends FlexCaller {
  readonly app: FlexApp;
}

/** A 2xx answer: the service's status (200, 201, ...) and its body. */
export interface FlexDataResult<T> {
  readonly status: number;
  readonly body: T;
}

export type FlexEntity = Record<string, unknown>;

const isEntity = (value: unknown): value is FlexEntity =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Calls one Flex service object. Every method resolves with the service's 2xx answer, and rejects
 * only with a KinveyError: the error the service answered (its status and name: 404 NotFound,
 * 501 NotImplemented for an unregistered handler, ...), or 550 BLTimeoutError / BLInternalError from
 * the client (unreachable, rejected shared secret, not JSON, or a body of the wrong shape).
 */
export class FlexDataSource {
  private readonly base: string;

  constructor(
    private readonly target: FlexDataTarget,
    private readonly client: FlexClient,
  ) {
    this.base = `/${pathSegment(target.serviceObject)}`;
  }

  /** `GET /:serviceObject?query&sort&limit&skip&fields`: onGetAll, or onGetByQuery with any parameter. */
  async list(ctx: FlexDataContext, params: Record<string, string>): Promise<FlexDataResult<unknown[]>> {
    const result = await this.call(ctx, { method: 'GET', path: this.base, query: params });
    return this.expect(result, Array.isArray(result.body), 'a list');
  }

  /** `GET /:serviceObject/:id`: onGetById; not found is whatever the service answers (usually 404). */
  async get(ctx: FlexDataContext, id: string): Promise<FlexDataResult<FlexEntity>> {
    const result = await this.call(ctx, { method: 'GET', path: this.entityPath(id) });
    return this.expect(result, isEntity(result.body), 'an entity');
  }

  /** `GET /:serviceObject/_count`: onGetCount, or onGetCountByQuery with parameters; body `{count}`. */
  async count(ctx: FlexDataContext, params: Record<string, string>): Promise<FlexDataResult<{ count: number }>> {
    const result = await this.call(ctx, { method: 'GET', path: `${this.base}/_count`, query: params });
    return this.expect(result, isEntity(result.body) && typeof result.body.count === 'number', 'a {count}');
  }

  /** `POST /:serviceObject/`: onInsert (onInsertMany for an array body). */
  async create(ctx: FlexDataContext, body: unknown): Promise<FlexDataResult<unknown>> {
    return this.call(ctx, { method: 'POST', path: `${this.base}/`, body });
  }

  /** `PUT /:serviceObject/:id`: onUpdate. */
  async replace(ctx: FlexDataContext, id: string, body: unknown): Promise<FlexDataResult<FlexEntity>> {
    const result = await this.call(ctx, { method: 'PUT', path: this.entityPath(id), body });
    return this.expect(result, isEntity(result.body), 'an entity');
  }

  /** `DELETE /:serviceObject/:id`: onDeleteById; the body is the service's (Kinvey's is `{count}`). */
  async remove(ctx: FlexDataContext, id: string): Promise<FlexDataResult<unknown>> {
    return this.call(ctx, { method: 'DELETE', path: this.entityPath(id) });
  }

  /** `DELETE /:serviceObject?query=`: onDeleteByQuery (onDeleteAll without parameters: refusing that is the route's call). */
  async removeMatching(ctx: FlexDataContext, params: Record<string, string>): Promise<FlexDataResult<unknown>> {
    return this.call(ctx, { method: 'DELETE', path: this.base, query: params });
  }

  private entityPath(id: string): string {
    // An empty id would turn a by-id call into a call on the whole service object, and so would
    // `.` and `..` even percent-encoded: %2E is unreserved, so URL parsers (Node's own URL first)
    // treat /widgets/%2E as a dot segment and send DELETE /widgets/, which is onDeleteAll.
    if (id === '' || id === '.' || id === '..')
      throw errors.invalidIdentifier(`the entity id ${JSON.stringify(id)} cannot be sent as a path segment`);
    return `${this.base}/${pathSegment(id)}`;
  }

  private async call(ctx: FlexDataContext, call: Omit<FlexCall, 'headers'>): Promise<FlexDataResult<unknown>> {
    const { service, serviceName } = this.target;
    const answer: FlexAnswer = await this.client.request(service, serviceName, {
      ...call,
      // Only set parameters go on the URL: the receiver takes any query as onGetByQuery.
      query: call.query && Object.keys(call.query).length > 0 ? call.query : undefined,
      headers: flexHeaders(service, ctx.app, ctx),
    });
    // Data errors are the answer's body itself (functions wrap theirs in `response.body`).
    if (answer.status >= 400) throw flexError(serviceName, answer.status, answer.body);
    if (answer.status < 200 || answer.status > 299) {
      throw errors.blInternalError(
        `Flex service "${serviceName}" answered ${answer.status} for ${call.method} ${this.target.serviceObject}`,
      );
    }
    return { status: answer.status, body: answer.body };
  }

  private expect<T>(result: FlexDataResult<unknown>, ok: boolean, what: string): FlexDataResult<T> {
    if (!ok)
      throw errors.blInternalError(
        `Flex service "${this.target.serviceName}" answered ${result.status} without ${what} for service object "${this.target.serviceObject}"`,
      );
    return result as FlexDataResult<T>;
  }
}
