/** The one Authorization parser: every scheme kinbase reads, and what it makes of broken values. */
import { parseAuthorization } from '../../src/http/middleware/authorization';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

test.each([
  ['no header', undefined, null],
  ['an empty header', '', null],
  ['a session token', 'Kinvey abc.def', { scheme: 'kinvey', token: 'abc.def' }],
  ['the scheme in any case, the value trimmed', 'kInVeY   tok  ', { scheme: 'kinvey', token: 'tok' }],
  ['a scheme without a value', 'Kinvey', { scheme: 'kinvey', token: '' }],
  ['an MFA session token', 'KinveyMFA m1', { scheme: 'kinveymfa', token: 'm1' }],
  ['a bearer token', 'Bearer s3cret', { scheme: 'bearer', token: 's3cret' }],
  ['Basic app credentials', `Basic ${b64('kid_x:secret')}`, { scheme: 'basic', user: 'kid_x', secret: 'secret' }],
  ['Basic whose secret holds colons', `Basic ${b64('ann:a:b:c')}`, { scheme: 'basic', user: 'ann', secret: 'a:b:c' }],
  ['Basic without a colon', `Basic ${b64('nocolon')}`, { scheme: 'malformed-basic' }],
  ['Basic that is not base64 at all', 'Basic !!!', { scheme: 'malformed-basic' }],
  ['another scheme', 'Digest username="x"', { scheme: 'unsupported', name: 'digest' }],
] as const)('%s', (_what, header, expected) => {
  expect(parseAuthorization(header)).toEqual(expected);
});
