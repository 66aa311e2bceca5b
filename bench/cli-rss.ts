/**
 * Runs the kinbase command (src/cli/main.ts) in this process and reports its peak resident set
 * size on stderr as a last line `MAXRSS <kilobytes>`, for bench/export-import.ts.
 * Usage: node dist/bench/cli-rss.js <kinbase arguments...>
 */
import { run } from '../src/cli/main';

void run(process.argv).then(() => {
  process.stderr.write(`MAXRSS ${process.resourceUsage().maxRSS}\n`);
});
