// The subset split works for real proxyless clients: the proxyless view (per-service api_listener, RouteConfiguration
// with weighted_clusters, one Cluster and assignment per subset) is served by the project's xDS server to
// @grpc/grpc-js-xds and gRPC C-core clients calling real Greeter backends; 90/10 holds within ±5% over 2,000 calls,
// a header route of the policy selects the canary, and a new split takes over once it is published.
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigStore } from '../../src/config/store.js';
import { greeterClient, startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { silentLogger } from '../../src/logger.js';
import type { Instance } from '../../src/registry/types.js';
import { contentSetVersion, encodeResource } from '../../src/snapshot/encode.js';
import { PUSH_ORDER, TYPE_URL, type EncodedResource, type Snapshot, type SnapshotDiff, type SnapshotSource, type TypeUrl } from '../../src/snapshot/types.js';
import { resourcesFor } from '../../src/views/view-resources.js';
import { XdsServer } from '../../src/xds/server.js';
import { writeXdsBootstrap } from '../support/control-plane.js';
import { eventually } from '../support/eventually.js';
import { instance } from '../support/snapshots.js';

const PREFIX = '/etcd-xds/config/';
const PYTHON = '/usr/bin/python3';
const CORE_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/xds_core_client.py');
const hasGrpcCore = spawnSync(PYTHON, ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0;

function split(v1: number, v2: number): object {
  return {
    requestTimeout: '3s',
    subsets: { key: 'version', split: [{ value: 'v1', weight: v1 }, { value: 'v2', weight: v2 }] },
    routes: [{ name: 'canary-header', match: { headers: [{ name: 'x-canary', exact: 'yes' }] }, subset: 'v2' }],
  };
}

/** One SayHello call through a bare grpc-js client, with request metadata; returns the instance that answered. */
function callWithMetadata(client: grpc.Client, headers: Record<string, string>): Promise<string> {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  const request = Buffer.concat([Buffer.from([0x0a, 4]), Buffer.from('call')]); // HelloRequest.name = "call"
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      '/etcdxds.v1.Greeter/SayHello',
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      metadata,
      { deadline: Date.now() + 5_000 },
      (err, reply) => (err ? reject(err) : resolve(instanceIdOf(reply!))),
    ),
  );
}

/** HelloReply.instance_id (field 2) from the reply bytes: every field of HelloReply is a short string. */
function instanceIdOf(reply: Buffer): string {
  for (let pos = 0; pos < reply.length; ) {
    const key = reply[pos]!;
    const length = reply[pos + 1]!;
    if (key >> 3 === 2) return reply.subarray(pos + 2, pos + 2 + length).toString();
    pos += 2 + length;
  }
  return '';
}

/** The proxyless view as a snapshot, the way the pipeline will publish it. */
class ViewSource implements SnapshotSource {
  private snapshot: Snapshot | undefined;
  private readonly listeners = new Set<(s: Snapshot, d: SnapshotDiff) => void>();
  constructor(private readonly services: Map<string, Instance[]>) {}
  publish(policy: object): void {
    const store = new ConfigStore({ prefix: PREFIX });
    store.applyPut(`${PREFIX}services/greeter`, JSON.stringify(policy), '1');
    const config = store.view();
    expect(config.rejected.size).toBe(0);
    const view = resourcesFor({ client: 'grpc', port: 0 }, { services: this.services, verdictOf: () => undefined, config });
    const typed: [TypeUrl, Map<string, object>][] = [
      [TYPE_URL.cluster, view.clusters],
      [TYPE_URL.endpoint, view.endpoints],
      [TYPE_URL.listener, view.listeners],
      [TYPE_URL.route, view.routes],
    ];
    const resources = new Map<TypeUrl, Map<string, EncodedResource>>(
      typed.map(([typeUrl, messages]) => [typeUrl, new Map([...messages].map(([name, m]) => [name, encodeResource(typeUrl, name, m)]))]),
    );
    const typeVersions = new Map(PUSH_ORDER.map((t) => [t, contentSetVersion(resources.get(t)!.values())]));
    const version = contentSetVersion(PUSH_ORDER.flatMap((t) => [...resources.get(t)!.values()]));
    const next: Snapshot = { version, resources, typeVersions, builtAt: new Date() };
    const diff = new Map<TypeUrl, Set<string>>();
    for (const t of PUSH_ORDER) {
      const before = this.snapshot?.resources.get(t);
      const after = resources.get(t)!;
      const names = new Set([...after].filter(([name, r]) => before?.get(name)?.version !== r.version).map(([name]) => name));
      for (const name of before?.keys() ?? []) if (!after.has(name)) names.add(name);
      if (names.size > 0) diff.set(t, names);
    }
    this.snapshot = next;
    for (const listener of this.listeners) listener(next, diff);
  }
  current(): Snapshot {
    return this.snapshot!;
  }
  onSnapshot(listener: (s: Snapshot, d: SnapshotDiff) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

describe('a 90/10 subset split with real proxyless clients', { timeout: 180_000 }, () => {
  let backends: GreeterServer[];
  let source: ViewSource;
  let server: XdsServer;
  let bootstrap: string;
  let greeter: ReturnType<typeof greeterClient>;

  beforeAll(async () => {
    backends = await Promise.all(
      ['v1-a', 'v1-b', 'v2-a'].map((id) => startGreeterServer({ service: 'greeter', instanceId: id, host: '127.0.0.1' })),
    );
    const versions = ['v1', 'v1', 'v2'];
    const instances = backends.map((b, i) =>
      instance('greeter', ['v1-a', 'v1-b', 'v2-a'][i]!, b.port, { metadata: { version: versions[i]!, protocol: 'grpc' } }),
    );
    source = new ViewSource(new Map([['greeter', instances]]));
    source.publish(split(90, 10));
    server = new XdsServer({ source, logger: silentLogger() });
    const address = await server.listen('127.0.0.1:0');
    bootstrap = writeXdsBootstrap(address);
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    (await import('@grpc/grpc-js-xds')).register();
    greeter = greeterClient('xds:///greeter');
  });

  afterAll(async () => {
    greeter?.close();
    await server?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  async function spread(calls: number): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < calls; i++) {
      const reply = await greeter.sayHello(`call ${i}`);
      const version = reply.instance_id.slice(0, 2);
      seen[version] = (seen[version] ?? 0) + 1;
    }
    return seen;
  }

  it('grpc-js-xds sends 10% ± 5% of 2,000 calls to version v2, spread over both v1 instances for the rest', async () => {
    await eventually(() => spread(20), (s) => (s['v1'] ?? 0) > 0, 'the client resolves greeter');
    const before = backends.map((b) => b.calls());
    const seen = await spread(2_000);
    expect((seen['v1'] ?? 0) + (seen['v2'] ?? 0)).toBe(2_000);
    expect(seen['v2']).toBeGreaterThanOrEqual(100);
    expect(seen['v2']).toBeLessThanOrEqual(300);
    const served = backends.map((b, i) => b.calls() - before[i]!);
    expect(served[0]! + served[1]!).toBe(seen['v1']);
    expect(Math.min(served[0]!, served[1]!)).toBeGreaterThan(0);
  });

  it('follows a new split once it is published: 0/100 sends every call to v2', async () => {
    source.publish(split(0, 100));
    const seen = await eventually(() => spread(50), (s) => s['v2'] === 50, 'every call on v2');
    expect(seen).toEqual({ v2: 50 });
    source.publish(split(90, 10));
    await eventually(() => spread(50), (s) => (s['v1'] ?? 0) > 30, 'back to mostly v1');
  });

  it('grpc-js-xds follows the policy header route: x-canary: yes always reaches v2', async () => {
    const client = new grpc.Client('xds:///greeter', grpc.credentials.createInsecure());
    try {
      const answered = new Set<string>();
      for (let i = 0; i < 100; i++) answered.add(await callWithMetadata(client, { 'x-canary': 'yes' }));
      expect([...answered]).toEqual(['v2-a']);
      const without = new Set<string>();
      for (let i = 0; i < 100; i++) without.add((await callWithMetadata(client, { 'x-canary': 'no' })).slice(0, 2));
      expect(without.has('v1')).toBe(true);
    } finally {
      client.close();
    }
  });

  it.skipIf(!hasGrpcCore && process.env.REQUIRE_GRPC_CORE !== '1')('gRPC C-core sends 10% ± 5% of 2,000 calls to version v2', async () => {
    const run = await new Promise<{ counts: Record<string, number>; errorCount: number; errors: string[] }>((resolve, reject) =>
      execFile(PYTHON, [CORE_CLIENT, 'xds:///greeter', '2000'], { env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstrap }, timeout: 150_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
      ),
    );
    expect(run.errors).toEqual([]);
    const v2 = run.counts['v2-a'] ?? 0;
    expect((run.counts['v1-a'] ?? 0) + (run.counts['v1-b'] ?? 0) + v2).toBe(2_000);
    expect(v2).toBeGreaterThanOrEqual(100);
    expect(v2).toBeLessThanOrEqual(300);
  });
});
