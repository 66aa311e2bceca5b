/**
 * Spreads bursts of short synchronous jobs over event-loop turns. A read that resolves 1,000 file
 * references starts 1,000 signings at once; each is tens of microseconds of CPU on the main thread
 * (string building, hashing, HMAC), which in one turn would add up to a stall other requests feel.
 */
export class EventLoopTurns {
  private admitted = 0;
  private readonly waiting: Array<() => void> = [];
  private resetScheduled = false;

  /** @param perTurn how many jobs may start in one turn before later ones wait for the next. */
  constructor(private readonly perTurn: number) {}

  /**
   * Resolves when the caller may run its job: at once while this turn has room, otherwise in a
   * later turn (after I/O had its chance). Never rejects; order of arrival is kept.
   */
  async next(): Promise<void> {
    this.scheduleReset();
    if (this.waiting.length === 0 && this.admitted < this.perTurn) {
      this.admitted++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private scheduleReset(): void {
    if (this.resetScheduled) return;
    this.resetScheduled = true;
    // setImmediate runs after the poll phase, so pending I/O callbacks get in between batches.
    setImmediate(() => {
      this.resetScheduled = false;
      const batch = this.waiting.splice(0, this.perTurn);
      this.admitted = batch.length;
      for (const resolve of batch) resolve();
      if (this.waiting.length > 0 || this.admitted > 0) this.scheduleReset();
    });
  }
}
