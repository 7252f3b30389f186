// A canary through the whole pipeline: Greeter backends registered in a real etcd with metadata version v1/v2, a
// ServicePolicy written the way `etcd-xds config apply` writes it, the control plane watching both, and two real
// proxyless clients (@grpc/grpc-js-xds in this process, gRPC C-core through python3-grpcio) calling through it.
// Both hold a 90/10 split within ±5% over 2,000 calls, follow the header route to v2, and honour a route's timeout;
// a new split put into etcd moves the traffic of both, and the test prints how long that took.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConfigDocuments } from '../../src/cli/config.js';
import { readConfigDocuments } from '../../src/config/documents.js';
import { DEFAULT_CONFIG_PREFIX } from '../../src/config/kinds.js';
import { DELAY_HEADER, greeterClient, startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { startTestControlPlane, writeXdsBootstrap, type TestControlPlane } from '../support/control-plane.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

const SERVICE = 'greeter';
const PYTHON = '/usr/bin/python3';
const CORE_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/xds_core_client.py');
const hasGrpcCore = spawnSync(PYTHON, ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0;
const skipCore = !hasGrpcCore && process.env.REQUIRE_GRPC_CORE !== '1';

const BACKENDS = [
  { id: 'v1-a', version: 'v1' },
  { id: 'v1-b', version: 'v1' },
  { id: 'v2-a', version: 'v2' },
];
/**
 * The route `short-timeout` cuts calls at this; every other route allows the policy's 10 s. More than a second:
 * gRPC C-core applies a route's timeout about a second early (grpc/grpc#34547; 1.1–1.7 s measured with 1.51 here),
 * so a shorter one would fail even a fast call.
 */
const ROUTE_TIMEOUT = '3s';
/** A backend asked for this delay answers well after the short route's timeout and well within the policy's. */
const SLOW_MS = '4000';
const SHORT_ROUTE = { 'x-short-timeout': '1' };
/** The application's own deadline: longer than any route's, so only the route's timeout can cut a call short. */
const APP_DEADLINE_MS = 20_000;

/** The policy file a user would apply, with the split of the catch-all route. */
function policyFile(v1: number, v2: number): string {
  return `kind: ServicePolicy
name: ${SERVICE}
spec:
  requestTimeout: 10s
  subsets:
    key: version
    split:
      - { value: v1, weight: ${v1} }
      - { value: v2, weight: ${v2} }
  routes:
    - name: canary-header
      match: { headers: [{ name: x-canary, exact: "yes" }] }
      subset: v2
    - name: short-timeout
      match: { headers: [{ name: x-short-timeout, present: true }] }
      timeout: ${ROUTE_TIMEOUT}
`;
}

interface CoreRun {
  counts: Record<string, number>;
  codes: Record<string, number>;
  errors: string[];
  errorCount: number;
  /** With --until: whether the run of calls was seen, and the seconds from "ready" to its end. */
  followed?: boolean;
  seconds?: number;
}

const versionOf = (instanceId: string) => instanceId.slice(0, 2);

describe('a canary ServicePolicy in etcd, followed by real proxyless clients', { timeout: 60_000 }, () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let cp: TestControlPlane;
  let backends: GreeterServer[];
  let bootstrap: string;
  let greeter: ReturnType<typeof greeterClient>;

  /** `config apply -f` with the file's text: validated by the same reader, written by the same transaction. */
  async function applyPolicy(v1: number, v2: number): Promise<void> {
    const result = readConfigDocuments(policyFile(v1, v2));
    if (!result.ok) throw new Error(`the policy file does not validate: ${JSON.stringify(result.errors)}`);
    await writeConfigDocuments(client, DEFAULT_CONFIG_PREFIX, result.documents);
  }

  function runCore(calls: number, options: { headers?: Record<string, string>; warmup?: number } = {}): Promise<CoreRun> {
    const args = [CORE_CLIENT, `xds:///${SERVICE}`, String(calls), '--timeout', String(APP_DEADLINE_MS / 1_000), '--warmup', String(options.warmup ?? 0)];
    for (const [key, value] of Object.entries(options.headers ?? {})) args.push('--metadata', `${key}=${value}`);
    return new Promise((resolve, reject) =>
      execFile(PYTHON, args, { env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstrap }, timeout: 45_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as CoreRun),
      ),
    );
  }

  /**
   * Starts a C-core client calling until `run` consecutive answers come from version `version`; once it is calling,
   * `change` runs (a put into etcd). Resolves with the client's report and the ms from the change to its end.
   */
  async function coreFollows(version: string, run: number, change: () => Promise<void>): Promise<{ report: CoreRun; ms: number }> {
    const args = [CORE_CLIENT, `xds:///${SERVICE}`, '20000', '--warmup', '5', '--until', `${version}:${run}`];
    const child = spawn(PYTHON, args, { env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstrap }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const ready = await lines.next();
      if (ready.value !== 'ready') throw new Error(`the C-core client did not start: ${stderr}`);
      const changedAt = performance.now();
      await change();
      const report = await lines.next();
      const ms = performance.now() - changedAt;
      if (report.done) throw new Error(`the C-core client ended without a report (exit ${await exited}): ${stderr}`);
      return { report: JSON.parse(report.value) as CoreRun, ms };
    } finally {
      child.kill();
    }
  }

  /** Versions that answered `calls` sequential grpc-js calls. */
  async function spread(calls: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < calls; i++) {
      const version = versionOf((await greeter.sayHello(`call ${i}`, APP_DEADLINE_MS, headers)).instance_id);
      seen[version] = (seen[version] ?? 0) + 1;
    }
    return seen;
  }

  /** How a grpc-js call with `headers` ends: the answering instance, or the status code it failed with. */
  async function outcome(headers: Record<string, string>): Promise<string> {
    try {
      return (await greeter.sayHello('timed', APP_DEADLINE_MS, headers)).instance_id;
    } catch (err) {
      return grpc.status[(err as grpc.ServiceError).code] ?? String(err);
    }
  }

  /**
   * Puts a new split and calls until the traffic follows it: ms from the start of the put to the end of the first
   * call of a run of `run` consecutive calls that `follows` accepts.
   */
  async function putUntilTrafficFollows(v1: number, v2: number, follows: (version: string) => boolean, run: number): Promise<number> {
    const started = performance.now();
    await applyPolicy(v1, v2);
    let runStartedAt = 0;
    let length = 0;
    await eventually(
      async () => {
        const version = versionOf((await greeter.sayHello('follow', APP_DEADLINE_MS)).instance_id);
        if (!follows(version)) length = 0;
        else if (++length === 1) runStartedAt = performance.now();
        return length;
      },
      (n) => n >= run,
      `${run} consecutive calls following the split ${v1}/${v2}`,
    );
    return runStartedAt - started;
  }

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    backends = await Promise.all(
      BACKENDS.map(({ id }) => startGreeterServer({ service: SERVICE, instanceId: id, host: '127.0.0.1', delayFromMetadata: true })),
    );
    for (const [i, { id, version }] of BACKENDS.entries()) {
      await client.put(`/services/${SERVICE}/${id}`).value(JSON.stringify({ address: '127.0.0.1', port: backends[i]!.port, metadata: { version } }));
    }
    await applyPolicy(90, 10);
    cp = await startTestControlPlane(etcd);
    bootstrap = writeXdsBootstrap(cp.xdsAddress, 'canary-client');
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    (await import('@grpc/grpc-js-xds')).register();
    greeter = greeterClient(`xds:///${SERVICE}`);
    await eventually(() => spread(10), (s) => (s['v1'] ?? 0) > 0, 'grpc-js resolves greeter and calls v1');
  });

  afterAll(async () => {
    greeter?.close();
    await cp?.plane.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
    client?.close();
    await etcd?.close();
  });

  it('grpc-js-xds sends 10% ± 5% of 2,000 calls to v2, and the rest over both v1 instances', async () => {
    const before = backends.map((b) => b.calls());
    const seen = await spread(2_000);
    expect((seen['v1'] ?? 0) + (seen['v2'] ?? 0)).toBe(2_000);
    expect(seen['v2']).toBeGreaterThanOrEqual(100);
    expect(seen['v2']).toBeLessThanOrEqual(300);
    const served = backends.map((b, i) => b.calls() - before[i]!);
    expect(served[0]! + served[1]!).toBe(seen['v1']);
    expect(Math.min(served[0]!, served[1]!)).toBeGreaterThan(0);
  });

  it.skipIf(skipCore)('gRPC C-core sends 10% ± 5% of 2,000 calls to v2, and the rest over both v1 instances', async () => {
    const run = await runCore(2_000);
    expect(run.errors).toEqual([]);
    const v2 = run.counts['v2-a'] ?? 0;
    expect((run.counts['v1-a'] ?? 0) + (run.counts['v1-b'] ?? 0) + v2).toBe(2_000);
    expect(v2).toBeGreaterThanOrEqual(100);
    expect(v2).toBeLessThanOrEqual(300);
    expect(Math.min(run.counts['v1-a'] ?? 0, run.counts['v1-b'] ?? 0)).toBeGreaterThan(0);
  });

  it('grpc-js-xds follows the header route: x-canary: yes always reaches v2, other values take the split', async () => {
    expect(await spread(100, { 'x-canary': 'yes' })).toEqual({ v2: 100 });
    expect((await spread(100, { 'x-canary': 'no' }))['v1']).toBeGreaterThan(0);
  });

  it.skipIf(skipCore)('gRPC C-core follows the header route: x-canary: yes always reaches v2, other values take the split', async () => {
    const [canary, other] = await Promise.all([runCore(100, { headers: { 'x-canary': 'yes' } }), runCore(100, { headers: { 'x-canary': 'no' } })]);
    expect(canary.errors).toEqual([]);
    expect(canary.counts).toEqual({ 'v2-a': 100 });
    expect(other.errors).toEqual([]);
    expect((other.counts['v1-a'] ?? 0) + (other.counts['v1-b'] ?? 0)).toBeGreaterThan(0);
  });

  it('grpc-js-xds honours the route timeout: a slow answer on the short route fails with DEADLINE_EXCEEDED, a fast one succeeds', async () => {
    const [slow, fast, slowElsewhere] = await Promise.all([
      outcome({ ...SHORT_ROUTE, [DELAY_HEADER]: SLOW_MS }),
      outcome(SHORT_ROUTE),
      // The same slow answer on the catch-all route, under the policy's 10 s: the short route's timeout is its own.
      outcome({ [DELAY_HEADER]: SLOW_MS }),
    ]);
    expect(slow).toBe('DEADLINE_EXCEEDED');
    expect(fast).toMatch(/^v[12]-/);
    expect(slowElsewhere).toMatch(/^v[12]-/);
  });

  it.skipIf(skipCore)('gRPC C-core honours the route timeout: a slow answer on the short route fails with DEADLINE_EXCEEDED, a fast one succeeds', async () => {
    // Warm-up calls first: the route's timeout counts from the start of a call, the channel's resolution included.
    const [slow, fast, slowElsewhere] = await Promise.all([
      runCore(1, { headers: { ...SHORT_ROUTE, [DELAY_HEADER]: SLOW_MS }, warmup: 3 }),
      runCore(3, { headers: SHORT_ROUTE, warmup: 3 }),
      runCore(1, { headers: { [DELAY_HEADER]: SLOW_MS }, warmup: 3 }),
    ]);
    expect(slow.codes).toEqual({ DEADLINE_EXCEEDED: 1 });
    expect(fast.errors).toEqual([]);
    expect(Object.values(fast.counts).reduce((a, b) => a + b, 0)).toBe(3);
    expect(slowElsewhere.errors).toEqual([]);
  });

  it('a new split put into etcd moves the traffic: 0/100 sends every call to v2, 90/10 brings v1 back', async () => {
    const toCanary = await putUntilTrafficFollows(0, 100, (v) => v === 'v2', 20);
    // Under 0/100 no call reaches v1: the first v1 answer shows the 90/10 put has arrived.
    const back = await putUntilTrafficFollows(90, 10, (v) => v === 'v1', 1);
    const seen = await spread(200);
    expect(seen['v1']).toBeGreaterThan(150);
    console.log(`etcd put → grpc-js traffic follows: ${toCanary.toFixed(0)} ms to 0/100, ${back.toFixed(0)} ms back to 90/10`);
  });

  it.skipIf(skipCore)('a new split put into etcd moves gRPC C-core\'s traffic: 0/100 sends every call to v2, 90/10 brings v1 back', async () => {
    const toCanary = await coreFollows('v2', 20, () => applyPolicy(0, 100));
    expect(toCanary.report).toMatchObject({ followed: true, errorCount: 0 });
    // Under 0/100 no call reaches v1: the first v1 answer shows the 90/10 put has arrived.
    const back = await coreFollows('v1', 1, () => applyPolicy(90, 10));
    expect(back.report).toMatchObject({ followed: true, errorCount: 0 });
    console.log(`etcd put → C-core traffic follows: ${toCanary.ms.toFixed(0)} ms to 0/100 (20 calls in a row on v2), ${back.ms.toFixed(0)} ms back to 90/10`);
  });
});
