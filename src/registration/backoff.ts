// Delays between attempts to re-register: exponential so a long etcd outage is not hammered, capped so recovery is
// noticed quickly, and jittered so a fleet that lost etcd at the same moment does not come back in lock-step.

export interface BackoffOptions {
  /** Delay before the second attempt (the first one is immediate). */
  initialMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 5_000 };

/**
 * Delay before retry number `attempt` (0-based): `min(maxMs, initialMs·2^attempt)` scaled by a random factor in
 * [0.5, 1) ("equal jitter": never less than half the nominal delay, so the backoff still grows).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const nominal = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(nominal * (0.5 + random() / 2));
}
