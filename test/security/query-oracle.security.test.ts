/**
 * A reader's filter never runs on what the reader cannot read, and no pattern can stall the
 * matcher. Property tests (fast-check) over random ACLs, readers and client filters, evaluated by
 * the embedded store's matcher exactly as the store runs it (`restrict` + `compileFilter`); the
 * documents count every read of a field the client filter names, so "evaluated" is observed
 * directly instead of timed.
 */
import fc from 'fast-check';
import { canRead, readFilter, restrict } from '../../src/domain/access/acl';
import type { Principal } from '../../src/domain/access/principal';
import { sanitizeFilter } from '../../src/domain/query/parse-query';
import type { Filter } from '../../src/domain/ports';
import { compileFilter } from '../../src/stores/documents/mongo-semantics/matcher';
import { KinveyError } from '../../src/domain/errors';

const APP = 'kid_oracle';
const USERS = ['u1', 'u2', 'u3'];
const GROUPS = ['g1', 'g2'];
const ROLES = ['role-1', 'role-2'];

const aclArb = fc.record(
  {
    creator: fc.constantFrom(...USERS, 'someone-else'),
    gr: fc.option(fc.boolean(), { nil: undefined }),
    gw: fc.option(fc.boolean(), { nil: undefined }),
    r: fc.option(fc.subarray(USERS), { nil: undefined }),
    w: fc.option(fc.subarray(USERS), { nil: undefined }),
    groups: fc.option(fc.record({ r: fc.subarray(GROUPS), w: fc.subarray(GROUPS) }), { nil: undefined }),
    roles: fc.option(fc.record({ r: fc.subarray([...ROLES, 'all-users']), u: fc.subarray(ROLES) }), { nil: undefined }),
  },
  { requiredKeys: ['creator'] },
);

const readerArb = fc
  .record({ userId: fc.constantFrom(...USERS), groups: fc.subarray(GROUPS), roles: fc.subarray(ROLES) })
  .map(({ userId, groups, roles }): Principal => ({
    kind: 'user',
    appKey: APP,
    userId,
    username: userId,
    token: 't',
    groups,
    roles: roles.map((id) => ({ id, name: id })),
  }));

/** Client filters over the secret field: regex probes, equality, ranges, and combinations. */
const secretCondition = fc.oneof(
  fc.stringMatching(/^[a-z]{0,4}$/).map((prefix) => ({ $regex: `^${prefix}` })),
  fc.stringMatching(/^[a-z]{1,3}$/).map((s) => ({ $regex: s, $options: 'i' })),
  fc.stringMatching(/^[a-z]{1,6}$/),
  fc.record({ $gt: fc.stringMatching(/^[a-z]{0,3}$/) }),
  fc.record({ $exists: fc.boolean() }),
);
const clientFilterArb: fc.Arbitrary<Filter> = fc.oneof(
  secretCondition.map((c) => ({ secret: c })),
  fc.tuple(secretCondition, secretCondition).map(([a, b]) => ({ $or: [{ secret: a }, { secret: b }] })),
  fc.tuple(secretCondition, fc.integer({ min: 0, max: 3 })).map(([a, n]) => ({ $and: [{ n }, { secret: a }] })),
  secretCondition.map((c) => ({ $nor: [{ secret: c }] })),
);

/** A stored document whose `secret` counts how often any matcher looked at it. */
function instrumented(id: number, acl: object, secret: string, n: number) {
  const reads = { count: 0 };
  const doc: Record<string, unknown> = { _id: `d${id}`, _acl: acl, n };
  Object.defineProperty(doc, 'secret', {
    enumerable: true,
    get: () => {
      reads.count++;
      return secret;
    },
  });
  return { doc, reads };
}

describe("the reader's filter is never evaluated on documents the reader cannot read", () => {
  test('random ACLs, readers and filters: unreadable documents are never looked at, and results are exactly readable ∩ matching', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(aclArb, fc.stringMatching(/^[a-z]{0,8}$/), fc.integer({ min: 0, max: 3 })), {
          minLength: 1,
          maxLength: 25,
        }),
        readerArb,
        clientFilterArb,
        (rows, reader, client) => {
          sanitizeFilter(client);
          const docs = rows.map(([acl, secret, n], i) => ({ ...instrumented(i, acl, secret, n), acl, secret, n }));
          const secured = compileFilter(restrict(client, readFilter(reader, 'private')));
          const plain = compileFilter(client);
          for (const { doc, reads } of docs) {
            const readable = canRead(reader, 'private', doc);
            const before = reads.count;
            const matched = secured(doc);
            if (!readable) {
              expect(matched).toBe(false);
              expect(reads.count).toBe(before);
            } else {
              expect(matched).toBe(plain(doc));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test("a $regex probe on a private field is not even run on another user's entity (fixed case)", () => {
    const stranger: Principal = { kind: 'user', appKey: APP, userId: 'u2', username: 'u2', token: 't', groups: [] };
    const { doc, reads } = instrumented(1, { creator: 'u1' }, 'hunter2', 0);
    const secured = compileFilter(restrict({ secret: { $regex: '^hunt' } }, readFilter(stranger, 'private')));
    expect(secured(doc)).toBe(false);
    expect(reads.count).toBe(0);
  });
});

describe('regular expressions run in linear time or are refused', () => {
  const catastrophic = ['^(a+)+$', '(a|aa)*$', '(a*)*b', '^(\\w+\\s?)*$', '(x+x+)+y', '(?:a|a)+$', '(a{1,5}){2,}'];

  test.each(catastrophic)('%s is refused with 400 InvalidQuerySyntax before it reaches any store', (pattern) => {
    let thrown: unknown;
    try {
      sanitizeFilter({ name: { $regex: pattern } });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(KinveyError);
    expect(thrown).toMatchObject({ status: 400, error: 'InvalidQuerySyntax' });
    expect((thrown as KinveyError).debug).toMatch(/repeats a group|not run/);
  });

  test.each(['(a)\\1', '(?=a)b', '(?!a)b', '(?<=a)b'])(
    '%s (backreference or lookaround) is refused with 400',
    (pattern) => {
      expect(() => sanitizeFilter({ name: { $regex: pattern } })).toThrow(
        expect.objectContaining({ status: 400, error: 'InvalidQuerySyntax' }),
      );
    },
  );

  test.each([
    '^jo',
    'smith$',
    '(?i)^ann',
    '^[a-z0-9._-]+@example\\.com$',
    '(\\d{3})-(\\d{4})',
    '^(abc)+$',
    'colou?r',
    '\\p{L}+',
  ])('%s is an ordinary pattern and is accepted', (pattern) => {
    expect(() => sanitizeFilter({ name: { $regex: pattern } })).not.toThrow();
  });

  test('the embedded matcher runs a pattern with inline (?i) (a 500 before)', () => {
    const match = compileFilter(sanitizeFilter({ name: { $regex: '(?i)^ann' } }));
    expect(match({ _id: '1', name: 'ANNA' })).toBe(true);
    expect(match({ _id: '2', name: 'joanna' })).toBe(false);
  });

  test('the embedded matcher uses an RE2 engine: a backtracking-heavy accepted pattern on a long subject still answers', () => {
    // Accepted (no nested repetition), but exponential-free only under RE2: polynomial in a backtracker.
    const match = compileFilter(sanitizeFilter({ s: { $regex: '^a*a*a*a*a*a*a*b' } }));
    expect(match({ _id: '1', s: 'a'.repeat(5000) })).toBe(false);
    expect(match({ _id: '2', s: `${'a'.repeat(10)}b` })).toBe(true);
  });

  test("property: any sanitised regex over random subjects agrees with JavaScript's own engine where that engine is safe", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-c]{1,3}$/),
        fc.constantFrom('', 'i'),
        fc.array(fc.stringMatching(/^[a-cA-C]{0,6}$/), { maxLength: 8 }),
        (literal, options, subjects) => {
          const pattern = `^${literal}`;
          const match = compileFilter(sanitizeFilter({ s: { $regex: pattern, $options: options } }));
          const reference = new RegExp(pattern, options);
          for (const s of subjects) expect(match({ _id: 'x', s })).toBe(reference.test(s));
        },
      ),
      { numRuns: 200 },
    );
  });
});
