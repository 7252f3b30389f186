// Everything the bench starts (etcd, control-plane children, bare servers, client channels) is registered here, so an
// error, Ctrl-C or SIGTERM tears all of it down, newest first, and no process outlives the bench.
import { readFileSync, readdirSync } from 'node:fs';

type Closer = () => Promise<void> | void;

const closers: Array<{ label: string; close: Closer }> = [];
let tearingDown: Promise<void> | undefined;

/** Registers something to close on teardown; returns a function that closes it now and forgets it. */
export function owned(label: string, close: Closer): () => Promise<void> {
  const entry = { label, close };
  closers.push(entry);
  return async () => {
    const index = closers.indexOf(entry);
    if (index < 0) return;
    closers.splice(index, 1);
    await withTimeout(Promise.resolve().then(entry.close), 15_000, `closing ${label}`);
  };
}

/** Closes everything still registered, newest first; errors are reported, not thrown. */
export function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    while (closers.length > 0) {
      const entry = closers.pop()!;
      try {
        await withTimeout(Promise.resolve().then(entry.close), 15_000, `closing ${entry.label}`);
      } catch (err) {
        console.error(`bench: ${(err as Error).message}`);
      }
    }
  })();
  return tearingDown;
}

/** Direct children of this process (read from /proc), for the synchronous last resort at exit. */
function childPids(): number[] {
  const pids: number[] = [];
  try {
    for (const task of readdirSync('/proc/self/task')) {
      const text = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // Not Linux, or /proc unreadable: the asynchronous teardown is all there is.
  }
  return pids;
}

/** Signals and fatal errors end the run through teardown; exit kills whatever child is somehow still alive. */
export function installTeardownHandlers(): void {
  const stop = (signal: NodeJS.Signals, code: number) => {
    console.error(`\nbench: ${signal}, stopping every process the bench started...`);
    const hardExit = setTimeout(() => process.exit(code), 20_000);
    hardExit.unref();
    void teardown().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => stop('SIGINT', 130));
  process.once('SIGTERM', () => stop('SIGTERM', 143));
  process.once('SIGHUP', () => stop('SIGHUP', 129));
  process.on('exit', () => {
    for (const pid of childPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
}

export class TimeoutError extends Error {}

/** The promise's value, or a TimeoutError naming what did not happen within ms. */
export function withTimeout<T>(promise: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until check() returns a value (not undefined), or fails after timeoutMs saying what was awaited. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined | Promise<T | undefined>, everyMs = 20): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Progress for long steps, on stderr so stdout holds the table alone. */
export function progress(message: string): void {
  const at = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${at}] ${message}\n`);
}
