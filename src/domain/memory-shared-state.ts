/**
 * SharedState in this process's memory: for a document store that offers none of its own, and for
 * tests. Nothing is shared with other processes. Memory is bounded: at most `maxEntries` keys
 * (the least recently written goes first), each holding at most `maxEventsPerKey` events, and as
 * many entries per log as it keeps.
 */
import type { SharedCounters, SharedLogs, SharedState } from './ports';

interface Entry {
  /** Event times, oldest first, with their expiry. */
  events: { at: number; expiresAt: number }[];
  mark?: { value: number; expiresAt: number };
}

export class MemorySharedState implements SharedState, SharedCounters, SharedLogs {
  private readonly table = new Map<string, Entry>();
  private readonly logTable = new Map<string, Record<string, unknown>[]>();

  constructor(private readonly options: { maxEntries?: number; maxEventsPerKey?: number; clock?: () => Date } = {}) {}

  get counters(): SharedCounters {
    return this;
  }

  get logs(): SharedLogs {
    return this;
  }

  async add(appKey: string, key: string, at: number, expiresAt: number): Promise<void> {
    const entry = this.entry(appKey, key, true)!;
    entry.events.push({ at, expiresAt });
    if (entry.events.length > (this.options.maxEventsPerKey ?? 1000)) entry.events.shift();
  }

  async newest(appKey: string, key: string, since: number, limit: number): Promise<number[]> {
    const events = this.entry(appKey, key, false)?.events ?? [];
    return events
      .filter((e) => e.at > since)
      .map((e) => e.at)
      .reverse()
      .slice(0, limit);
  }

  async removeOne(appKey: string, key: string, since: number): Promise<void> {
    const events = this.entry(appKey, key, false)?.events ?? [];
    const last = events.length - 1;
    if (last >= 0 && events[last]!.at > since) events.pop();
  }

  async clear(appKey: string, key: string): Promise<void> {
    this.table.delete(entryKey(appKey, key));
  }

  async mark(appKey: string, key: string, value: number, expiresAt: number): Promise<void> {
    this.entry(appKey, key, true)!.mark = { value, expiresAt };
  }

  async markOf(appKey: string, key: string): Promise<number | undefined> {
    const mark = this.entry(appKey, key, false)?.mark;
    return mark && mark.expiresAt > this.now() ? mark.value : undefined;
  }

  async append(appKey: string, log: string, entry: Record<string, unknown>, keep: number): Promise<void> {
    const id = entryKey(appKey, log);
    const list = this.logTable.get(id) ?? [];
    list.push(entry);
    if (list.length > keep) list.splice(0, list.length - keep);
    this.logTable.set(id, list);
  }

  async recent(appKey: string, log: string, limit: number): Promise<Record<string, unknown>[]> {
    return [...(this.logTable.get(entryKey(appKey, log)) ?? [])].reverse().slice(0, limit);
  }

  /** The key's entry (expired events dropped), created and made most recent when `write`. */
  private entry(appKey: string, key: string, write: boolean): Entry | undefined {
    const id = entryKey(appKey, key);
    let entry = this.table.get(id);
    const now = this.now();
    if (entry) entry.events = entry.events.filter((e) => e.expiresAt > now);
    if (!write) return entry;
    entry ??= { events: [] };
    this.table.delete(id);
    this.table.set(id, entry);
    if (this.table.size > (this.options.maxEntries ?? 40_000))
      this.table.delete(this.table.keys().next().value as string);
    return entry;
  }

  private now(): number {
    return this.options.clock ? this.options.clock().getTime() : Date.now();
  }
}

function entryKey(appKey: string, key: string): string {
  return `${appKey}\u0000${key}`;
}
