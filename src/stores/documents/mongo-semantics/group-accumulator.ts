/**
 * Grouping in one pass with memory proportional to the number of groups, shared by the adapters
 * that cannot (or not fully) aggregate inside their server. Values are read the way a MongoDB
 * `$group` field path reads them: through arrays, a path yields the array of its elements' values.
 * Every new group is charged against the answer's byte budget as it is found, so a request whose
 * answer would be too large is refused before its groups take the memory.
 */
import { StoreError, type GroupSpec, type GroupStats } from '../../../domain/ports';

const MISSING = Symbol('missing');

/** The value at a dotted path as `$group` sees it (`"$a.b"`); own properties only. */
export function valueAtPath(doc: unknown, path: readonly string[]): unknown {
  const value = resolve(doc, path);
  return value === MISSING ? null : value;
}

function resolve(value: unknown, path: readonly string[]): unknown {
  if (path.length === 0) return value;
  if (Array.isArray(value)) {
    return value.map((item) => resolve(item, path)).filter((item) => item !== MISSING);
  }
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, path[0] as string)) return MISSING;
  return resolve((value as Record<string, unknown>)[path[0] as string], path.slice(1));
}

/**
 * Collects GroupStats; `add` returns false once there are more than `maxGroups` groups. `add` and
 * `merge` throw StoreError('too-large') when a new group's key is over `spec.maxKeyBytes`, or the
 * groups (key JSON plus `spec.bytesPerGroup` each) pass `maxResultBytes`.
 */
export class GroupAccumulator {
  private readonly groups = new Map<string, GroupStats>();
  private readonly keyPaths: string[][];
  private readonly fieldPath: string[] | null;
  /** A running estimate of the answer: the key JSON is at hand (it names the group), the rest is the caller's. */
  private bytes = 0;

  constructor(
    private readonly spec: GroupSpec,
    private readonly maxResultBytes: number,
  ) {
    this.keyPaths = spec.keys.map((key) => key.split('.'));
    this.fieldPath = spec.field === undefined ? null : spec.field.split('.');
  }

  add(doc: unknown): boolean {
    const key = this.keyPaths.map((path) => valueAtPath(doc, path));
    const id = JSON.stringify(key);
    let group = this.groups.get(id);
    if (!group) {
      if (this.groups.size > this.spec.maxGroups) return false;
      this.charge(id);
      group = { key, count: 0, numeric: 0, sum: 0, min: null, max: null };
      this.groups.set(id, group);
    }
    group.count += 1;
    const value = this.fieldPath ? valueAtPath(doc, this.fieldPath) : null;
    // Like $sum, $min and $max over numbers: anything else (strings, arrays, missing) is skipped.
    if (typeof value === 'number' && Number.isFinite(value)) {
      group.numeric += 1;
      group.sum += value;
      group.min = group.min === null ? value : Math.min(group.min, value);
      group.max = group.max === null ? value : Math.max(group.max, value);
    }
    return this.groups.size <= this.spec.maxGroups;
  }

  /** Merges stats computed elsewhere (e.g. by a server) into the group of `key`. */
  merge(stats: GroupStats): void {
    const id = JSON.stringify(stats.key);
    const group = this.groups.get(id);
    if (!group) {
      this.charge(id);
      this.groups.set(id, { ...stats });
      return;
    }
    group.count += stats.count;
    group.numeric += stats.numeric;
    group.sum += stats.sum;
    if (stats.min !== null) group.min = group.min === null ? stats.min : Math.min(group.min, stats.min);
    if (stats.max !== null) group.max = group.max === null ? stats.max : Math.max(group.max, stats.max);
  }

  results(): GroupStats[] {
    return [...this.groups.values()];
  }

  /** Adds a new group, named by the JSON of its key values, to the answer's size. */
  private charge(id: string): void {
    if (this.spec.maxKeyBytes !== undefined && id.length > this.spec.maxKeyBytes) {
      throw new StoreError(
        'too-large',
        `the key values of a group hold more than ${Math.round(this.spec.maxKeyBytes / 1024)} KiB of JSON; group by smaller fields`,
      );
    }
    this.bytes += id.length + (this.spec.bytesPerGroup ?? 0);
    if (this.bytes > this.maxResultBytes) {
      throw new StoreError(
        'too-large',
        `the groups hold more than ${Math.round(this.maxResultBytes / 1048576)} MB of JSON; group by fewer fields, add a condition or send a smaller initial`,
      );
    }
  }
}
