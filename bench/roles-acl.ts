/**
 * Roles bench (issue 30): what `_acl.roles` and role tables cost a reader of a private collection
 * on the embedded store. One store, 20,000 entities with mixed ACLs (a tenth name a role in
 * `_acl.roles.r`), the same list query (`limit 100`) and `_count` through the one ACL scope, side
 * by side in one run, rounds alternating the principals: a user holding no role (the clause every
 * private read now carries, `_acl.roles.r` in `all-users`), the same clause without that branch
 * (what a private read cost before roles), a user holding 5 roles, and a user reading through a
 * `grant`-only role table (one index branch). Medians of the per-round mean.
 *
 * Usage: npm run bench:roles   (BENCH_ROUNDS=5, BENCH_QUERIES=300)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ACL_INDEX_FIELDS, aclScope } from '../src/domain/access/acl-scope';
import type { Principal } from '../src/domain/access/principal';
import type { CollectionPermissions } from '../src/domain/apps/app-definition';
import type { Filter, StoredDocument } from '../src/domain/ports';
import { EmbeddedDocumentStore } from '../src/stores/documents/embedded/embedded.document-store';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 300);
const ENTITIES = 20_000;
const APP = 'kid_bench_roles';
const scope = { appKey: APP, collection: 'docs' };

const user = (roles: number): Principal => ({
  kind: 'user',
  appKey: APP,
  userId: 'u-7',
  username: 'u-7',
  token: 't',
  groups: ['g-1'],
  roles: Array.from({ length: roles }, (_, i) => ({ id: `role-${i}`, name: `R${i}` })),
});

interface Case {
  label: string;
  principal: Principal;
  permissions: CollectionPermissions;
  /** Drops the `_acl.roles` branch: the clause as it was before roles. */
  withoutRoles?: boolean;
}

const CASES: Case[] = [
  { label: 'private, user with no role', principal: user(0), permissions: 'private' },
  { label: 'private, no role, clause before roles', principal: user(0), permissions: 'private', withoutRoles: true },
  { label: 'private, user with 5 roles', principal: user(5), permissions: 'private' },
  { label: 'grant-only role table, 1 role', principal: user(1), permissions: { R0: { read: 'grant' } } },
];

function entity(i: number): StoredDocument {
  const acl: Record<string, unknown> = { creator: `u-${i % 50}` };
  if (i % 7 === 0) acl.gr = true;
  if (i % 11 === 0) acl.r = [`u-${(i + 3) % 50}`];
  if (i % 13 === 0) acl.groups = { r: [`g-${i % 4}`] };
  if (i % 10 === 0) acl.roles = { r: [`role-${i % 6}`] };
  return { _id: `e${String(i).padStart(6, '0')}`, n: i, _acl: acl };
}

function readableFor(c: Case): Filter {
  const readable: Filter = aclScope(c.principal, c.permissions).readable({});
  if (!c.withoutRoles) return readable;
  const branches = readable.$or as Filter[];
  return { $or: branches.filter((branch) => !Object.keys(branch).some((key) => key.startsWith('_acl.roles'))) };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-roles-'));
  const store = new EmbeddedDocumentStore({ dir, sync: 'normal' });
  try {
    for (const field of ACL_INDEX_FIELDS) await store.ensureIndex(scope, { field });
    for (let i = 0; i < ENTITIES; i++) await store.insert(scope, entity(i));
    const listMs = new Map<string, number[]>();
    const countMs = new Map<string, number[]>();
    const found = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CASES) {
        const readable = readableFor(c);
        let start = performance.now();
        for (let q = 0; q < QUERIES; q++) await store.find(scope, readable, { limit: 100, skip: (q * 37) % 500 });
        listMs.set(c.label, [...(listMs.get(c.label) ?? []), (performance.now() - start) / QUERIES]);
        start = performance.now();
        let count = 0;
        for (let q = 0; q < QUERIES / 10; q++) count = await store.count(scope, readable);
        countMs.set(c.label, [...(countMs.get(c.label) ?? []), (performance.now() - start) / (QUERIES / 10)]);
        found.set(c.label, count);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = CASES[0]!.label;
    console.log(
      `roles bench: ${ENTITIES} entities, ${ROUNDS} rounds x ${QUERIES} lists (limit 100) and ${QUERIES / 10} counts`,
    );
    console.log('case | readable | list ms | x | count ms | x');
    for (const c of CASES) {
      const list = median(listMs.get(c.label)!);
      const count = median(countMs.get(c.label)!);
      console.log(
        `${c.label} | ${found.get(c.label)} | ${list.toFixed(3)} | ${(list / median(listMs.get(base)!)).toFixed(2)} | ${count.toFixed(3)} | ${(count / median(countMs.get(base)!)).toFixed(2)}`,
      );
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
