// Waiting for a port before registering: the SDK lists an instance only once it accepts TCP connections.
import net from 'node:net';
import { tcpProbe } from '../health/tcp-probe.js';

export interface WaitForPortOptions {
  address: string;
  port: number;
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs?: number;
  signal?: AbortSignal;
  /**
   * The address was detected, not chosen: when the port answers on loopback but not on `address`, the service
   * listens on loopback only, and no other host could reach it. Fail at once saying so instead of waiting it out.
   */
  detectLoopbackOnly?: boolean;
}

/** Thrown when the port answers on loopback only (see WaitForPortOptions.detectLoopbackOnly). */
export class LoopbackOnlyError extends Error {
  constructor(
    readonly address: string,
    readonly port: number,
    readonly loopback: string,
  ) {
    super(
      `port ${port} answers on ${loopback} but not on ${address} (the detected address): the service listens on ` +
        `loopback only, so nothing outside this host can reach it. Make it listen on all interfaces, or register ` +
        `the loopback address (--address ${loopback}, or address: '${loopback}' in the SDK) for a local setup`,
    );
  }
}

/** Resolves once the port accepts a TCP connection; rejects after `timeoutMs` or when `signal` aborts. */
export async function waitForPort(options: WaitForPortOptions): Promise<void> {
  const { address, port, timeoutMs, intervalMs = 200, signal } = options;
  const deadline = Date.now() + timeoutMs;
  const probe = tcpProbe(address, port);
  const loopback = net.isIPv6(address) ? '::1' : '127.0.0.1';
  const loopbackProbe = options.detectLoopbackOnly && address !== loopback ? tcpProbe(loopback, port) : undefined;
  let lastError = 'not tried';
  for (;;) {
    signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const outcome = await probe.run(AbortSignal.timeout(Math.min(remaining, 2_000)));
    if (outcome.ok) return;
    lastError = outcome.error;
    if (loopbackProbe && (await loopbackProbe.run(AbortSignal.timeout(1_000))).ok) {
      throw new LoopbackOnlyError(address, port, loopback);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  throw new Error(
    `port ${port} on ${address} did not accept connections within ${timeoutMs} ms (last attempt: ${lastError})`,
  );
}
