/**
 * Node/V8 flags kinbase is meant to run with. `npm start` passes them (package.json; a test keeps
 * the two in step), and so do the test harness and the benches; server.ts warns when they are
 * missing. They cannot be set from inside the process: V8 reads them when the heap is created.
 *
 * `--initial-old-space-size=64`: without it V8 sizes the old generation from what survives start-up
 * (about 10 MB for kinbase) and sets its limit at twice that. The headroom left (about 9 MB) is
 * smaller than the young generation (16 MB), so every scavenge (and streaming a body triggers one
 * every 16 MiB or so, for the socket buffers) starts a full incremental marking: measured, a major
 * GC about every 25 MiB of upload or download, which cost 0.8 s of CPU per GiB on 2 cores and
 * capped uploads at about two thirds of a plain node:http server. With the flag the limit is set,
 * never lowered from start-up survival, and the headroom stays above the young generation. Peak RSS
 * is unchanged (the flag is a GC threshold, not a reservation).
 */
export const NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** The flags of NODE_FLAGS this process was started without. */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
