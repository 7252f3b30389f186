// (g) The admin API at fleet scale: the size and time of the first page of `/` and of `/debug/services?limit=100`,
// and the longest event-loop stall while they run, seen from outside by polling /healthz every ~5 ms.
import http from 'node:http';
import { sleep } from '../lifecycle.js';
import { median } from '../measure.js';
import { httpGet, type ServeChild } from '../serve-child.js';

export interface AdminRequest {
  path: string;
  bytes: number;
  /** Median over the repeats. */
  ms: number;
  allMs: number[];
  /** Longest /healthz answer while the requests ran. */
  stallMs: number;
  status: number;
  /** For /debug/services: how many services the page held (more than the limit = the limit is ignored). */
  services?: number;
}

/** Runs `body` while polling /healthz; returns the longest poll. */
async function longestStall(adminUrl: string, body: () => Promise<void>): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  let longest = 0;
  const poller = (async () => {
    while (running) {
      const started = performance.now();
      await httpGet(`${adminUrl}/healthz`, 60_000, agent).catch(() => undefined);
      longest = Math.max(longest, performance.now() - started);
      await sleep(5);
    }
  })();
  try {
    await sleep(50);
    await body();
    await sleep(50);
  } finally {
    running = false;
    await poller;
    agent.destroy();
  }
  return longest;
}

export async function measureAdmin(serve: ServeChild, path: string, repeats: number): Promise<AdminRequest> {
  const agent = new http.Agent({ keepAlive: false });
  const allMs: number[] = [];
  let bytes = 0;
  let status = 0;
  let body: Buffer | undefined;
  const stallMs = await longestStall(serve.adminUrl, async () => {
    for (let i = 0; i < repeats; i++) {
      const result = await httpGet(`${serve.adminUrl}${path}`, 120_000, agent);
      allMs.push(result.ms);
      bytes = result.bytes;
      status = result.status;
      body = result.body;
      await sleep(100);
    }
  });
  const result: AdminRequest = { path, bytes, ms: median(allMs), allMs, stallMs, status };
  if (path.startsWith('/debug/services') && body && status === 200) {
    const parsed = JSON.parse(body.toString()) as { services?: unknown[] };
    result.services = parsed.services?.length ?? 0;
  }
  return result;
}
