/**
 * The one reader of the `Authorization` header. Every route that looks at credentials (the
 * authentication middleware, `/metrics`, the MFA completion routes) parses it here, so a scheme,
 * a Basic encoding or a separator is understood the same way everywhere.
 */

/** What an Authorization header says, before anything is checked against an app. */
export type Authorization =
  /** `Kinvey <session token>` (the token may be empty: no session has it). */
  | { scheme: 'kinvey'; token: string }
  /** `KinveyMFA <mfa session token>` (the login answer's second-factor session). */
  | { scheme: 'kinveymfa'; token: string }
  /** `Bearer <token>` (only `/metrics` accepts one). */
  | { scheme: 'bearer'; token: string }
  /** `Basic base64(user:secret)`: the user is an app key or a username. */
  | { scheme: 'basic'; user: string; secret: string }
  /** `Basic` whose decoded value has no colon. */
  | { scheme: 'malformed-basic' }
  /** Any other scheme; `name` is lower-case and may be long (cut it before echoing it). */
  | { scheme: 'unsupported'; name: string };

/**
 * Parses an Authorization header; null when there is none. The scheme ends at the first space and
 * is matched case-insensitively; the value is trimmed. Never throws: callers choose the error.
 */
export function parseAuthorization(header: string | undefined): Authorization | null {
  if (!header) return null;
  const space = header.indexOf(' ');
  const name = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  switch (name) {
    case 'kinvey':
      return { scheme: 'kinvey', token: value };
    case 'kinveymfa':
      return { scheme: 'kinveymfa', token: value };
    case 'bearer':
      return { scheme: 'bearer', token: value };
    case 'basic': {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return { scheme: 'malformed-basic' };
      return { scheme: 'basic', user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
    }
    default:
      return { scheme: 'unsupported', name };
  }
}
