/**
 * Serializes each resolved KinveyFile reference once per response instead of once per site. A
 * list of 100 entities showing the same 2 files used to stringify 200 expansions of about 500
 * bytes each, most of the response; now the reference presenter stringifies the 2 expansions,
 * places a marker at each site, and the app's `res.json` swaps the markers for that text.
 *
 * A marker is a string holding a per-process 128-bit random token, which is never sent (every
 * marker is replaced) and cannot be guessed, so no stored value can pose as one. Only responses
 * whose presenter placed markers do the replacement; every other body is plain JSON.stringify.
 */
import { randomBytes } from 'node:crypto';
import type { Express, Response } from 'express';

const TOKEN = `kinbase-expansion-${randomBytes(16).toString('hex')}`;
/** JSON.stringify writes the leading NUL of a marker as the six characters `\u0000`. */
const MARKER_IN_JSON = new RegExp(`"\\\\u0000${TOKEN}:(\\d+)"`, 'g');
/** Where a response keeps the JSON text of its expansions (res.locals, so one table per response). */
const TABLE = Symbol('kinbase expansion table');

/** The response's expansion table, under a symbol only this module knows (see RequestLocals for the named locals). */
function expansionSlot(res: Response): { [TABLE]?: string[] } {
  return res.locals as { [TABLE]?: string[] };
}

class SerializedExpansion {
  constructor(private readonly marker: string) {}

  toJSON(): string {
    return this.marker;
  }
}

/** For the reference presenter: what to place at the sites of one expansion of this response. */
export function serializeOncePer(res: Response): (expansion: Readonly<Record<string, unknown>>) => unknown {
  return (expansion) => {
    const locals = expansionSlot(res);
    const table = (locals[TABLE] ??= []);
    table.push(JSON.stringify(expansion));
    return new SerializedExpansion(`\u0000${TOKEN}:${table.length - 1}`);
  };
}

/** Installs this app's `res.json`: JSON.stringify, then the response's markers replaced by their text. */
export function expansionAwareJson(app: Express): void {
  app.response.json = function json(this: Response, body: unknown): Response {
    let text: string | undefined = JSON.stringify(body);
    const table = expansionSlot(this)[TABLE];
    if (table && text !== undefined)
      text = text.replace(MARKER_IN_JSON, (marker, index: string) => table[Number(index)] ?? marker);
    if (!this.get('Content-Type')) this.set('Content-Type', 'application/json');
    return this.send(text);
  } as Express['response']['json'];
}

/**
 * The body as the client would receive it, as plain JSON values (expansion markers replaced):
 * what Business Logic post hooks see and may change.
 */
export function plainJsonOf(res: Response, body: unknown): unknown {
  let text = JSON.stringify(body);
  if (text === undefined) return undefined;
  const table = expansionSlot(res)[TABLE];
  if (table) text = text.replace(MARKER_IN_JSON, (marker, index: string) => table[Number(index)] ?? marker);
  return JSON.parse(text) as unknown;
}
