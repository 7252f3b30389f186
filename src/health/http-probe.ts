// HTTP probe: GET http://address:port/path; healthy on the expected status (any 2xx when none is given).
// node:http rather than fetch: fetch refuses the WHATWG "bad ports" (6000, 10080, 2049, ...), on which real
// services do run, and follows redirects that a health check must judge as the backend's own answer.
import http from 'node:http';
import { abortReason, describeError, hostForUrl } from './probe-address.js';
import type { Probe, ProbeOutcome } from './types.js';

export interface HttpProbeOptions {
  path?: string;
  expectedStatus?: number;
}

export function httpProbe(address: string, port: number, options: HttpProbeOptions = {}): Probe {
  const path = options.path ? (options.path.startsWith('/') ? options.path : `/${options.path}`) : '/';
  return {
    type: 'http',
    target: `http://${hostForUrl(address)}:${port}${path}`,
    run: (signal) => getOnce(address, port, path, options.expectedStatus, signal),
    close: () => {},
  };
}

function getOnce(address: string, port: number, path: string, expectedStatus: number | undefined, signal: AbortSignal): Promise<ProbeOutcome> {
  if (signal.aborted) return Promise.resolve({ ok: false, error: abortReason(signal) });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: ProbeOutcome): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ ok: false, error: abortReason(signal) });
    // agent: false: a fresh connection per probe, as a new client would make, and nothing left open between probes.
    const request = http.get(
      { host: address, port, path, agent: false, headers: { 'user-agent': 'etcd-xds-health-checker' } },
      (response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        const healthy = expectedStatus === undefined ? status >= 200 && status < 300 : status === expectedStatus;
        const wanted = expectedStatus === undefined ? '2xx' : String(expectedStatus);
        finish(healthy ? { ok: true } : { ok: false, error: `HTTP ${status} (expected ${wanted})` });
      },
    );
    request.on('error', (error) => finish({ ok: false, error: describeError(error) }));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
