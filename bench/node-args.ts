import { NODE_FLAGS } from '../src/node-flags';

/**
 * The node arguments the benches start kinbase with: what `npm start` uses (NODE_FLAGS), unless
 * BENCH_KINBASE_NODE_ARGS replaces them, e.g. "" to measure without them, or
 * "--initial-old-space-size=64 --cpu-prof --cpu-prof-dir=/tmp/prof" to profile the kinbase side.
 */
export function kinbaseNodeArgs(): string[] {
  const given = process.env.BENCH_KINBASE_NODE_ARGS;
  return given === undefined ? [...NODE_FLAGS] : given.split(' ').filter(Boolean);
}
