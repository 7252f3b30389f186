// An admin server on a free loopback port over a FixtureState, for tests that read the admin API as JSON.
import { afterAll, beforeAll } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { silentLogger } from '../../src/logger.js';
import { FixtureState } from './fixtures.js';
import { MetricsEventHub } from './metrics-hub.js';

export interface FixtureAdmin {
  readonly state: FixtureState;
  get<T>(path: string): Promise<{ status: number; body: T }>;
  fetch(path: string): Promise<Response>;
}

/** Registers beforeAll/afterAll hooks; `prepare` shapes the state before the server starts. */
export function useFixtureAdmin(prepare: (state: FixtureState) => void = () => undefined): FixtureAdmin {
  let state: FixtureState | undefined;
  let server: AdminServer | undefined;
  beforeAll(async () => {
    state = new FixtureState();
    prepare(state);
    const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
    server = await startAdminServer({ address: '127.0.0.1:0', state, metrics, logger: silentLogger() });
  });
  afterAll(async () => {
    await server?.close();
  });
  return {
    get state() {
      return state!;
    },
    async get<T>(path: string) {
      const response = await fetch(`http://${server!.address}${path}`);
      return { status: response.status, body: (await response.json()) as T };
    },
    fetch: (path) => fetch(`http://${server!.address}${path}`),
  };
}
