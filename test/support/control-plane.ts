// The whole control plane against a real etcd, on free loopback ports, for end-to-end tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../src/control-plane.js';
import { createLogger } from '../../src/logger.js';
import type { TestEtcd } from './etcd.js';

export interface TestControlPlane {
  plane: ControlPlane;
  xdsAddress: string;
  adminUrl: string;
}

export async function startTestControlPlane(etcd: TestEtcd, options: Partial<ControlPlaneOptions> = {}): Promise<TestControlPlane> {
  const plane = await startControlPlane({
    etcdEndpoints: [etcd.endpoint],
    prefix: '/services/',
    xdsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...options,
  });
  const xdsAddress = await plane.xdsReady;
  return { plane, xdsAddress, adminUrl: `http://${plane.adminAddress}` };
}

let bootstrapDir: string | undefined;
let bootstrapFiles = 0;

/** One temp dir per test process for its bootstrap files, removed when the process exits. */
function bootstrapDirectory(): string {
  if (bootstrapDir === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-bootstrap-'));
    bootstrapDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return bootstrapDir;
}

/** Writes a gRPC xDS bootstrap file pointing at the server and returns its path (removed at process exit). */
export function writeXdsBootstrap(xdsAddress: string, nodeId = 'grpc-test-client'): string {
  bootstrapFiles += 1;
  const file = path.join(bootstrapDirectory(), `bootstrap-${bootstrapFiles}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      xds_servers: [{ server_uri: xdsAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: nodeId, cluster: 'e2e-tests', locality: { zone: 'test-zone' } },
    }),
  );
  return file;
}
