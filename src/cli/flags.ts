// Flag value parsers shared by subcommands. They throw commander's InvalidArgumentError, which the program turns
// into a clear message and exit code 2.
import { InvalidArgumentError } from 'commander';

/** `host:port` or `[v6]:port`, port 0–65535. */
export function hostPort(value: string): string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) throw new InvalidArgumentError('expected host:port (e.g. 0.0.0.0:18000, [::]:18000; port 0 = any free port)');
  return value;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration like `10ms`, `5s`, `10m` (a bare number means milliseconds). */
export function durationMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 10ms, 5s or 10m');
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!);
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
