/**
 * Bookkeeping for processes the test run starts in globalSetup, so globalTeardown (same process)
 * stops them; they are also killed if the run dies.
 */
type Stop = () => Promise<void>;

const stops: Stop[] = [];

export function registerStop(stop: Stop): void {
  stops.push(stop);
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled(stops.splice(0).map((stop) => stop()));
}
