/**
 * Bookkeeping for processes the test run starts in globalSetup, so globalTeardown (same process)
 * stops them; they are also killed if the run dies.
 */
type Stop = () => Promise<void>;

// On globalThis, not in this module: jest loads each project's global setup and teardown through
// its own transformer, so two projects may see two copies of this module, but never two processes.
const holder = globalThis as { kinbaseTestStops?: Stop[] };
const stops: Stop[] = (holder.kinbaseTestStops ??= []);

export function registerStop(stop: Stop): void {
  stops.push(stop);
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled(stops.splice(0).map((stop) => stop()));
}
