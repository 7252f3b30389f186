// Waiting for a port before registering: the SDK lists an instance only once it accepts TCP connections.
import { tcpProbe } from '../health/tcp-probe.js';

export interface WaitForPortOptions {
  address: string;
  port: number;
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Resolves once the port accepts a TCP connection; rejects after `timeoutMs` or when `signal` aborts. */
export async function waitForPort(options: WaitForPortOptions): Promise<void> {
  const { address, port, timeoutMs, intervalMs = 200, signal } = options;
  const deadline = Date.now() + timeoutMs;
  const probe = tcpProbe(address, port);
  let lastError = 'not tried';
  for (;;) {
    signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const outcome = await probe.run(AbortSignal.timeout(Math.min(remaining, 2_000)));
    if (outcome.ok) return;
    lastError = outcome.error;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  throw new Error(
    `port ${port} on ${address} did not accept connections within ${timeoutMs} ms (last attempt: ${lastError})`,
  );
}
