/**
 * Links to variants that are not stored yet: they point at kinbase (`/blob-variants/...`), which
 * renders the variant on the first request and then redirects to the object store's URL for it.
 * `<img src>` sends no credentials, so the link itself is the capability, like a signed storage
 * URL: an HMAC over the file, its generation, the preset and the expiry (or `public`), keyed by a
 * key derived from the app's master secret. It names one generation, so it never serves the
 * variant of bytes uploaded later, and a `public` link stops working once the file is private.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AppDefinition } from '../../apps/app-definition';
import { errors } from '../../errors';

/** The path prefix of pending variant links (served by http/routes/blob/variant.routes.ts). */
export const VARIANT_LINK_PATH = '/blob-variants';

export interface PendingVariant {
  fileId: string;
  generation: string;
  name: string;
  /** Absent for a public file's permanent link. */
  expiresAt?: Date;
}

/** The pending link of one variant, on kinbase's public URL with the scheme `https` asks for. */
export function pendingVariantUrl(publicUrl: string, https: boolean, app: AppDefinition, link: PendingVariant): string {
  const base = https || !publicUrl.startsWith('https:') ? publicUrl : publicUrl.replace(/^https:/, 'http:');
  const expiry = link.expiresAt ? String(Math.floor(link.expiresAt.getTime() / 1000)) : 'public';
  const query = new URLSearchParams({ g: link.generation, e: expiry, s: signature(app, link, expiry) });
  return `${base}${VARIANT_LINK_PATH}/${app.appKey}/${encodeURIComponent(link.fileId)}/${link.name}?${query.toString()}`;
}

/**
 * Checks a pending link's query (`g`, `e`, `s`) for this file and preset. Returns what it grants;
 * throws 401 InsufficientCredentials for a forged, altered or expired link.
 */
export function verifyPendingVariant(
  app: AppDefinition,
  fileId: string,
  name: string,
  query: Record<string, unknown>,
  now: Date,
): PendingVariant {
  const { g, e, s } = query;
  const refused = () => errors.insufficientCredentials('This image variant link is not valid or has expired.');
  if (typeof g !== 'string' || typeof e !== 'string' || typeof s !== 'string') throw refused();
  if (e !== 'public' && !/^\d{1,12}$/.test(e)) throw refused();
  const link: PendingVariant = {
    fileId,
    generation: g,
    name,
    ...(e === 'public' ? {} : { expiresAt: new Date(Number(e) * 1000) }),
  };
  const expected = Buffer.from(signature(app, link, e));
  const given = Buffer.from(s);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused();
  if (link.expiresAt && link.expiresAt.getTime() <= now.getTime()) throw refused();
  return link;
}

function signature(app: AppDefinition, link: PendingVariant, expiry: string): string {
  const key = createHmac('sha256', app.masterSecret).update('kinbase image variant links').digest();
  return createHmac('sha256', key)
    .update([app.appKey, link.fileId, link.generation, link.name, expiry].join('\u0000'))
    .digest('base64url');
}
