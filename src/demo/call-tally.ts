// Counts which instance answered the demo client's calls, per one-second window, and renders a window as the line
// the demo prints: `[  5s] calls/s: greeter-1 ████░░░░░░░░  17 | greeter-2 ... | errors 0`.

export interface TallyWindow {
  /** instance id → calls it answered in this window */
  counts: ReadonlyMap<string, number>;
  errors: number;
  /** One error message of this window, to explain a non-zero error count. */
  errorSample?: string;
}

export class CallTally {
  private counts = new Map<string, number>();
  private errors = 0;
  private errorSample: string | undefined;
  private readonly seen: string[] = [];

  answered(instanceId: string): void {
    if (!this.seen.includes(instanceId)) this.seen.push(instanceId);
    this.counts.set(instanceId, (this.counts.get(instanceId) ?? 0) + 1);
  }

  failed(message: string): void {
    this.errors += 1;
    this.errorSample ??= message;
  }

  /** Every instance that ever answered, in the order first seen. */
  instances(): readonly string[] {
    return this.seen;
  }

  /** The window since the previous call, and starts a new one. */
  take(): TallyWindow {
    const window: TallyWindow = {
      counts: this.counts,
      errors: this.errors,
      ...(this.errorSample !== undefined && { errorSample: this.errorSample }),
    };
    this.counts = new Map();
    this.errors = 0;
    this.errorSample = undefined;
    return window;
  }
}

const BAR_WIDTH = 12;

/** A share of the window's calls as a fixed-width bar, so the columns stay aligned line after line. */
function bar(count: number, total: number): string {
  const filled = total === 0 ? 0 : Math.round((count / total) * BAR_WIDTH);
  return '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
}

/** `[ 12s]` */
export function elapsedLabel(seconds: number): string {
  return `[${String(Math.floor(seconds)).padStart(3)}s]`;
}

/**
 * One line per second. Every instance in `instances` is listed, in that order, even with 0 calls, so a backend
 * leaving shows as its count dropping to 0 rather than as a column disappearing.
 */
export function formatSpreadLine(seconds: number, instances: readonly string[], window: TallyWindow): string {
  const total = [...window.counts.values()].reduce((sum, n) => sum + n, 0);
  const width = Math.max(0, ...instances.map((id) => id.length));
  const columns = instances.map((id) => {
    const count = window.counts.get(id) ?? 0;
    return `${id.padEnd(width)} ${bar(count, total + window.errors)} ${String(count).padStart(3)}`;
  });
  const errors = `errors ${window.errors}${window.errorSample ? ` (${window.errorSample})` : ''}`;
  return `${elapsedLabel(seconds)} calls/s: ${[...columns, errors].join(' | ')}`;
}

/** Reads a spread line back (for tests and scripts): instance id → calls, and the error count. */
export function parseSpreadLine(line: string): { counts: Record<string, number>; errors: number } | undefined {
  if (!/\] calls\/s: /.test(line)) return undefined;
  const counts: Record<string, number> = {};
  for (const match of line.matchAll(/(\S+) [█░]+ +(\d+)/g)) counts[match[1]!] = Number(match[2]);
  const errors = /errors (\d+)/.exec(line);
  return { counts, errors: errors ? Number(errors[1]) : 0 };
}
