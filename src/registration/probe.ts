// Reachability probes run by the registering side: "does the port accept TCP connections" (the SDK waits for it
// before registering) and "does an HTTP GET answer as expected" (the registrar's health probes).
import http from 'node:http';
import net from 'node:net';

export interface ProbeResult {
  ok: boolean;
  /** Why it failed (or what answered), for logs. */
  detail: string;
}

/** `[::1]` for IPv6 literals, so the address can be shown or put into a URL next to a port. */
export function hostForUrl(address: string): string {
  return net.isIPv6(address) ? `[${address}]` : address;
}

/** One TCP connect attempt; the socket is closed as soon as the connection is established. */
export function probeTcp(address: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const finish = (result: ProbeResult): void => {
      socket.removeAllListeners();
      socket.on('error', () => undefined); // errors after the verdict are irrelevant
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, detail: `connect timed out after ${timeoutMs} ms` }));
    socket.once('connect', () => finish({ ok: true, detail: 'connected' }));
    socket.once('error', (err) => finish({ ok: false, detail: err.message }));
  });
}

export interface HttpProbeSpec {
  path: string;
  /** Exact status to expect; any 2xx when absent. */
  expectedStatus?: number;
}

/** One HTTP GET without keep-alive (each probe gets a fresh connection, like a new client would). */
export function probeHttp(address: string, port: number, spec: HttpProbeSpec, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      request.destroy();
      resolve(result);
    };
    const request = http.get({ host: address, port, path: spec.path, agent: false, timeout: timeoutMs }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      const ok = spec.expectedStatus === undefined ? status >= 200 && status < 300 : status === spec.expectedStatus;
      const expected = spec.expectedStatus === undefined ? '2xx' : String(spec.expectedStatus);
      finish({ ok, detail: `GET ${spec.path} answered ${status} (expected ${expected})` });
    });
    request.on('timeout', () => finish({ ok: false, detail: `GET ${spec.path} timed out after ${timeoutMs} ms` }));
    request.on('error', (err) => finish({ ok: false, detail: `GET ${spec.path} failed: ${err.message}` }));
  });
}

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
  let last: ProbeResult = { ok: false, detail: 'not tried' };
  for (;;) {
    signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    last = await probeTcp(address, port, Math.min(remaining, 2_000));
    if (last.ok) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  throw new Error(
    `port ${port} on ${address} did not accept connections within ${timeoutMs} ms (last attempt: ${last.detail})`,
  );
}
