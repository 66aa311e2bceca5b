/**
 * What the command prints: progress bars on a terminal (stderr, so stdout stays clean), plain
 * lines otherwise, one JSON object on stdout with `--json`; failures are one line on stderr and
 * exit code 1 (main.ts).
 */
import { SingleBar, Presets } from 'cli-progress';

/** An expected failure: its message is the one line the user reads. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Output {
  readonly json: boolean;
  /** A human line (suppressed with --json). */
  info(line: string): void;
  /** Starts a progress bar for `total` units of `label`; a no-op without a terminal or with --json. */
  progress(label: string, total: number): Progress;
  /** The command's result: JSON with --json, else the `summary` lines. */
  result(value: Record<string, unknown>, summary: string[]): void;
}

export interface Progress {
  increment(by?: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { increment: () => undefined, stop: () => undefined };

export function createOutput(options: { json?: boolean }): Output {
  const json = options.json === true;
  const bars = !json && process.stderr.isTTY === true;
  return {
    json,
    info(line) {
      if (!json) process.stdout.write(`${line}\n`);
    },
    progress(label, total) {
      if (!bars || total <= 0) return NO_PROGRESS;
      const bar = new SingleBar(
        { format: `${label} [{bar}] {value}/{total} {eta_formatted}`, stream: process.stderr, hideCursor: true },
        Presets.shades_classic,
      );
      bar.start(total, 0);
      return { increment: (by = 1) => bar.increment(by), stop: () => bar.stop() };
    },
    result(value, summary) {
      if (json) process.stdout.write(`${JSON.stringify({ ok: true, ...value })}\n`);
      else for (const line of summary) process.stdout.write(`${line}\n`);
    },
  };
}
