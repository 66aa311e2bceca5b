/**
 * Runs scheduled custom endpoints (`customEndpoints.<name>.schedule`) once per tick, however many
 * kinbase instances share the document store: each instance that sees a tick due tries to insert
 * the tick's lease document, and only the one whose insert succeeds runs the endpoint. The lease
 * holds for `leaseMs`; its holder marks it done when the run ends. A lease that is neither done
 * nor renewed when its time is up belongs to an instance that died (or lost the store) mid-run:
 * another instance takes it over with a compare-and-set on the holder and runs the tick, unless a
 * newer tick is already due (missed ticks are not replayed). So a tick runs at least once while
 * some instance is up, and more than once only when a run outlasts its lease.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { StoreError, type CollectionScope, type DocumentStore } from '../../domain/ports';
import type { BusinessLogicConfig } from '../types';

/**
 * The system collection holding one lease per claimed tick. Clients cannot reach it: /appdata
 * refuses every collection starting with `_` (checkAppdataCollection).
 */
export const SCHEDULE_COLLECTION = '_kinbaseSchedule';
const DAY_MS = 24 * 3600 * 1000;
/**
 * A run-once schedule whose start is older than this when kinbase first sees it is not run: its
 * lease could already have been cleaned up. Periodic ticks are never this old (at most one week).
 */
const RUN_ONCE_WINDOW_MS = 7 * DAY_MS;
/** Leases are kept a day longer than any tick can still be claimed, so no tick is claimed twice. */
const LEASE_RETENTION_MS = RUN_ONCE_WINDOW_MS + DAY_MS;
const CLEANUP_EVERY_MS = 3600 * 1000;

export interface EndpointSchedulerDeps {
  documents: DocumentStore;
  clock?: () => Date;
  logger: Logger;
  /** Runs the endpoint for one tick; a rejection is logged, never rethrown. */
  run: (appKey: string, endpoint: string, tick: Date) => Promise<void>;
  /** How often due ticks are checked, in milliseconds (default 1000). */
  pollMs?: number;
  /** How long a claimed tick is its claimant's before another instance may take it over (default 60 s). */
  leaseMs?: number;
}

/** Default lease: far longer than a Business Logic call may run (KINBASE_BL_TIMEOUT_MS). */
export const DEFAULT_LEASE_MS = 60_000;

interface ScheduledJob {
  readonly appKey: string;
  readonly endpoint: string;
  readonly startMs: number;
  readonly intervalMs: number | null;
  /** The newest tick this instance tried to claim (won or lost): never claimed again. */
  lastTickMs: number | null;
  /** A tick another instance holds and has not finished: taken over once its lease is up. */
  held: { tick: number; leaseUntil: number } | null;
}

type Claim = 'won' | 'taken' | 'retry';

/**
 * Checks every `pollMs` for due ticks (`start + k * interval`, or `start` once when the interval is
 * null) and runs each exactly once across instances. Only the latest due tick of an endpoint runs:
 * ticks missed while no instance was up are not replayed. Timers are unref()ed.
 */
export class EndpointScheduler {
  private readonly clock: () => Date;
  private readonly instance = randomBytes(6).toString('hex');
  private jobs: ScheduledJob[] = [];
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private lastCleanupMs = Number.NEGATIVE_INFINITY;

  private readonly leaseMs: number;

  constructor(private readonly deps: EndpointSchedulerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Schedules every endpoint with a `schedule` of these apps and checks once right away. Throws if already started. */
  start(apps: ReadonlyArray<{ appKey: string; businessLogic?: BusinessLogicConfig }>): void {
    if (this.timer || this.stopped) throw new Error('EndpointScheduler.start: already started');
    for (const app of apps) {
      const endpoints = app.businessLogic?.customEndpoints ?? {};
      for (const endpoint of Object.keys(endpoints)) {
        const schedule = endpoints[endpoint]?.schedule;
        if (!schedule) continue;
        const intervalMs = schedule.intervalSeconds === null ? null : schedule.intervalSeconds * 1000;
        this.jobs.push({
          appKey: app.appKey,
          endpoint,
          startMs: schedule.start.getTime(),
          intervalMs,
          lastTickMs: null,
          held: null,
        });
      }
    }
    this.timer = setInterval(() => void this.checkDue(), this.deps.pollMs ?? 1000);
    this.timer.unref();
    void this.checkDue();
  }

  /**
   * Checks for due ticks now, as the timer does, and resolves once every run this instance has
   * going has ended. Never rejects.
   */
  async checkNow(): Promise<void> {
    while (this.checking) await this.checking;
    await this.checkDue();
    await Promise.allSettled([...this.running]);
  }

  /** Stops the timer and resolves once the check and the runs in progress have ended. Never rejects. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.checking) await this.checking;
    await Promise.allSettled([...this.running]);
  }

  /** One check; skipped while the previous one still waits for the store. */
  private checkDue(): Promise<void> {
    if (this.checking || this.stopped) return this.checking ?? Promise.resolve();
    const check = this.claimDueTicks()
      .catch((err: unknown) => this.deps.logger.error({ err }, 'scheduled endpoints: the check failed'))
      .finally(() => {
        this.checking = null;
      });
    this.checking = check;
    return check;
  }

  private async claimDueTicks(): Promise<void> {
    const now = this.clock().getTime();
    for (const job of this.jobs) {
      if (this.stopped) return;
      const tick = dueTick(job, now);
      if (tick !== null && job.held?.tick === tick && now >= job.held.leaseUntil) {
        if ((await this.takeOver(job, tick, now)) && !this.stopped) this.launch(job, tick);
        continue;
      }
      if (tick === null || (job.lastTickMs !== null && tick <= job.lastTickMs)) continue;
      const claim = await this.claim(job, tick, now);
      if (claim === 'retry') continue;
      job.lastTickMs = tick;
      if (claim === 'won' && !this.stopped) this.launch(job, tick);
    }
    if (now - this.lastCleanupMs >= CLEANUP_EVERY_MS) {
      this.lastCleanupMs = now;
      await this.removeOldLeases(now);
    }
  }

  /** Inserts the tick's lease: 'taken' when another instance (or an earlier run of this one) has it. */
  private async claim(job: ScheduledJob, tick: number, now: number): Promise<Claim> {
    const tickIso = new Date(tick).toISOString();
    try {
      await this.deps.documents.insert(scopeOf(job.appKey), {
        _id: leaseId(job, tick),
        endpoint: job.endpoint,
        tick: tickIso,
        claimedAt: new Date(now).toISOString(),
        leaseUntil: now + this.leaseMs,
        instance: this.instance,
      });
      job.held = null;
      return 'won';
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'duplicate') {
        // Remembered without another read: the lease is only looked at again once its time is up.
        job.held = { tick, leaseUntil: now + this.leaseMs };
        return 'taken';
      }
      this.deps.logger.warn(
        { err, appKey: job.appKey, endpoint: job.endpoint, tick: tickIso },
        'scheduled endpoint: could not claim the tick, trying again on the next check',
      );
      return 'retry';
    }
  }

  /**
   * Takes over a tick whose lease is up and not done: replaces the lease only if it still names
   * the holder it had when read (compare-and-set), so of several instances one wins.
   */
  private async takeOver(job: ScheduledJob, tick: number, now: number): Promise<boolean> {
    const scope = scopeOf(job.appKey);
    try {
      const [lease] = await this.deps.documents.findByIds(scope, [leaseId(job, tick)]);
      const leaseUntil = typeof lease?.leaseUntil === 'number' ? lease.leaseUntil : 0;
      if (!lease || lease.done === true || leaseUntil > now) {
        job.held = lease && lease.done !== true ? { tick, leaseUntil } : null;
        return false;
      }
      const won = await this.deps.documents.replace(
        scope,
        { ...lease, claimedAt: new Date(now).toISOString(), leaseUntil: now + this.leaseMs, instance: this.instance },
        { instance: lease.instance, leaseUntil, done: { $ne: true } },
      );
      job.held = won ? null : { tick, leaseUntil: now + this.leaseMs };
      if (won)
        this.deps.logger.warn(
          { appKey: job.appKey, endpoint: job.endpoint, tick: new Date(tick).toISOString(), from: lease.instance },
          'scheduled endpoint: took over a tick whose holder did not finish within its lease',
        );
      return won;
    } catch (err) {
      this.deps.logger.warn({ err, appKey: job.appKey, endpoint: job.endpoint }, 'scheduled endpoint: takeover failed');
      return false;
    }
  }

  private launch(job: ScheduledJob, tick: number): void {
    const { appKey, endpoint } = job;
    const run = (async () => {
      try {
        await this.deps.run(appKey, endpoint, new Date(tick));
      } catch (err) {
        this.deps.logger.error(
          { err, appKey, endpoint, tick: new Date(tick).toISOString() },
          'scheduled endpoint failed',
        );
      }
      // Done, so no instance takes the tick over; only while this instance still holds it.
      await this.deps.documents
        .setFields(scopeOf(appKey), leaseId(job, tick), { done: true }, { instance: this.instance })
        .catch((err: unknown) =>
          this.deps.logger.warn({ err, appKey, endpoint }, 'scheduled endpoint: lease not marked done'),
        );
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Deletes leases of ticks that can no longer be claimed. Failures are logged; the next cleanup retries. */
  private async removeOldLeases(now: number): Promise<void> {
    const cutoff = new Date(now - LEASE_RETENTION_MS).toISOString();
    for (const appKey of new Set(this.jobs.map((job) => job.appKey))) {
      try {
        await this.deps.documents.deleteMany(scopeOf(appKey), { tick: { $lt: cutoff } });
      } catch (err) {
        this.deps.logger.warn({ err, appKey }, 'scheduled endpoints: old leases could not be removed');
      }
    }
  }
}

/** The latest tick at or before `now` that may still run, or null. */
function dueTick(job: ScheduledJob, now: number): number | null {
  if (now < job.startMs) return null;
  if (job.intervalMs === null) return now - job.startMs < RUN_ONCE_WINDOW_MS ? job.startMs : null;
  return job.startMs + Math.floor((now - job.startMs) / job.intervalMs) * job.intervalMs;
}

function leaseId(job: ScheduledJob, tick: number): string {
  return `${job.endpoint}@${new Date(tick).toISOString()}`;
}

function scopeOf(appKey: string): CollectionScope {
  return { appKey, collection: SCHEDULE_COLLECTION };
}
