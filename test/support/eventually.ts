// The tests' one polling helper and one sleep. Both use node:timers/promises, which fake timers leave alone, so a
// test that fakes the code's clock can still wait for real I/O.
import { setTimeout as delay } from 'node:timers/promises';

const POLL_INTERVAL_MS = 20;

/** Waits until `condition()` holds; fails naming `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs?: number): Promise<void>;
/** Polls `read` until `accept` holds for its result and returns it; fails with the last value seen after `timeoutMs`. */
export async function eventually<T>(
  read: () => T | Promise<T>,
  accept: (value: T) => boolean,
  what: string,
  timeoutMs?: number,
): Promise<T>;
export async function eventually<T>(
  read: () => T | Promise<T>,
  acceptOrWhat: ((value: T) => boolean) | string,
  whatOrTimeout?: string | number,
  timeoutMs?: number,
): Promise<T> {
  const conditionOnly = typeof acceptOrWhat === 'string';
  const accept = conditionOnly ? (value: T) => value === true : acceptOrWhat;
  const what = conditionOnly ? acceptOrWhat : (whatOrTimeout as string);
  const limit = (conditionOnly ? (whatOrTimeout as number | undefined) : timeoutMs) ?? 15_000;
  const deadline = Date.now() + limit;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await delay(POLL_INTERVAL_MS);
  }
  throw new Error(
    `timed out after ${limit} ms waiting for ${what}` +
      (conditionOnly ? '' : `; last value: ${JSON.stringify(last)}`) +
      (lastError ? `; last error: ${String(lastError)}` : ''),
  );
}

/** Waits `ms` of real time. Only for pacing (letting a client stall, a lease run out), never to prove absence. */
export function sleep(ms: number): Promise<void> {
  return delay(ms);
}
