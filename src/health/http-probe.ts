// HTTP probe: GET http://address:port/path; healthy on the expected status (any 2xx when none is given).
import { abortReason, describeError, hostForUrl } from './probe-address.js';
import type { Probe, ProbeOutcome } from './types.js';

export interface HttpProbeOptions {
  path?: string;
  expectedStatus?: number;
}

export function httpProbe(address: string, port: number, options: HttpProbeOptions = {}): Probe {
  const path = options.path ? (options.path.startsWith('/') ? options.path : `/${options.path}`) : '/';
  const url = `http://${hostForUrl(address)}:${port}${path}`;
  return {
    type: 'http',
    target: url,
    run: (signal) => getOnce(url, options.expectedStatus, signal),
    close: () => {},
  };
}

async function getOnce(url: string, expectedStatus: number | undefined, signal: AbortSignal): Promise<ProbeOutcome> {
  try {
    // redirect: 'manual' so a 3xx is judged as the backend's answer, not followed somewhere else.
    const response = await fetch(url, {
      signal,
      redirect: 'manual',
      headers: { 'user-agent': 'etcd-xds-health-checker' },
    });
    // The body is never needed; cancelling it frees the connection for the next probe.
    await response.body?.cancel().catch(() => {});
    const healthy =
      expectedStatus === undefined
        ? response.status >= 200 && response.status < 300
        : response.status === expectedStatus;
    if (healthy) return { ok: true };
    const wanted = expectedStatus === undefined ? '2xx' : String(expectedStatus);
    return { ok: false, error: `HTTP ${response.status} (expected ${wanted})` };
  } catch (error) {
    if (signal.aborted) return { ok: false, error: abortReason(signal) };
    return { ok: false, error: describeError(error) };
  }
}
