// `npm run bench [-- --quick]`: the fleet-scale suite. Runs etcd and `etcd-xds serve` as child processes, drives
// them with raw ADS clients (row h: a real proxyless gRPC client), and compares every figure with a floor measured in
// the same run (the machine is noisy). Prints one table (scenario, figure, target, PASS/MISS) and writes
// test-artifacts/bench.json. A MISS is a result, not an error: the exit code is non-zero only when a scenario could
// not run to its end.
// BENCH_PROFILE=1 runs every etcd-xds child under --cpu-prof (test-artifacts/profiles) and prints its hot spots.
import { Etcd3 } from 'etcd3';
import os from 'node:os';
import { startTestEtcd } from '../support/etcd.js';
import { startBareServer } from './bare-server.js';
import { fleetEntries, putAll, serviceName } from './fleet.js';
import { installTeardownHandlers, owned, progress, sleep, teardown, withTimeout } from './lifecycle.js';
import { childPidsNamed, count, loadAverage, percentile } from './measure.js';
import { Report } from './report.js';
import {
  adminNames, adminRows, churnName, churnRows, coldName, coldRow, configFollowName, configFollowRow, fanLargeRow, fanNames, fanSmallRow, idleName, idleRow,
  latencyNames, latencyRows,
} from './rows.js';
import { startServe, type ServeChild } from './serve-child.js';
import { FULL, QUICK } from './sizes.js';
import { measureAdmin } from './scenarios/admin.js';
import { measureChangeLatency, type ChangeLatency } from './scenarios/change-latency.js';
import { measureChurn } from './scenarios/churn.js';
import { measureColdStart } from './scenarios/cold-start.js';
import { measureConfigFollow } from './scenarios/config-follow.js';
import { etcdWatchLatency, measureFanOut } from './scenarios/fan-out.js';
import { measureIdleStreams } from './scenarios/idle-streams.js';

const quick = process.argv.includes('--quick');
const sizes = quick ? QUICK : FULL;
const SMALL = '/bench-small/';
const BIG = '/bench-big/';
const EMPTY = '/bench-empty/';
/** Configuration objects of the small fleet's control plane (h). */
const CONFIG = '/bench-config/';
const smallCount = sizes.small.services * sizes.small.perService;
const bigCount = sizes.big.services * sizes.big.perService;
const report = new Report();
const startedAt = Date.now();
const loadAtStart = loadAverage();
let unfinished = 0;

/** Runs one scenario; if it throws, its rows are reported as MISS with the reason and the run goes on. */
async function scenario(name: string, targets: Array<[string, string]>, body: () => Promise<void>): Promise<void> {
  progress(`${name}...`);
  const started = performance.now();
  try {
    await body();
    progress(`${name}: done in ${((performance.now() - started) / 1_000).toFixed(1)} s`);
  } catch (err) {
    unfinished += 1;
    progress(`${name}: FAILED: ${(err as Error).stack ?? String(err)}`);
    for (const [scenarioText, target] of targets) report.failed(scenarioText, [target], err);
  }
}

async function main(): Promise<void> {
  progress(`${quick ? 'quick' : 'full'} run: ${count(smallCount)} and ${count(bigCount)} registrations (node ${process.version}, ${os.cpus().length} cores, load average ${loadAtStart})`);
  const etcd = await startTestEtcd();
  owned('etcd', () => etcd.close());
  progress(`etcd at ${etcd.endpoint}${etcd.controllable ? ` (spawned, pid ${childPidsNamed('etcd').join(', ')})` : ''}`);
  const client = new Etcd3({ hosts: etcd.endpoint });
  owned('etcd client', async () => {
    // An etcd the bench did not start keeps its data: leave it as it was found.
    if (!etcd.controllable) await client.delete().prefix('/bench-').catch(() => undefined);
    client.close();
  });
  await withTimeout(client.delete().prefix('/bench-'), 60_000, 'clearing /bench- keys');
  await putAll(client, fleetEntries(SMALL, sizes.small.services, sizes.small.perService), smallCount, 'small fleet');
  const writeMs = await putAll(client, fleetEntries(BIG, sizes.big.services, sizes.big.perService), bigCount, 'big fleet');
  progress(`wrote ${count(bigCount)} registrations in ${(writeMs / 1_000).toFixed(1)} s`);

  // --- On the small fleet: (f) idle streams on a fresh child, then (a) at 100 registrations, then (h).
  let small: ChangeLatency | undefined;
  // The bare server starts alongside (idle until (f) needs it fresh): a node start costs seconds on a busy machine.
  const [smallServe, bare] = await Promise.all([startServe('serve-small', etcd.endpoint, SMALL, ['--config-prefix', CONFIG]), startBareServer('bare-ads-server')]);
  const smallXds = await smallServe.xdsAddress;
  const idle = idleName(sizes.idle.streams, sizes.idle.connections, smallCount);
  await scenario('f. idle streams', [[idle, '≤ 2 × bare per stream']], async () => {
    const services = Array.from({ length: sizes.small.services }, (_, s) => serviceName(s));
    const result = await measureIdleStreams(smallServe, smallXds, bare, services, sizes.idle.streams, sizes.idle.connections);
    report.scenarios.idleStreams = result;
    report.add(idleRow(idle, result));
  });
  await scenario('a. change latency at the small fleet', [], async () => {
    small = await measureChangeLatency(smallServe, client, SMALL, sizes.latencyRounds);
    report.scenarios.latencySmall = small;
  });
  const follow = configFollowName(sizes.configFollowRounds);
  await scenario('h. config put → proxyless traffic', [[follow, '≤ 1 s']], async () => {
    const result = await measureConfigFollow(client, smallXds, SMALL, CONFIG, sizes.configFollowRounds);
    report.scenarios.configFollow = result;
    report.add(configFollowRow(follow, result));
  });
  await smallServe.stop();

  // --- (b) cold start; the last big child stays up for the rest.
  let big: ServeChild | undefined;
  const cold = coldName(bigCount);
  await scenario('b. cold start', [[cold, '≤ 2.5 × range-read floor']], async () => {
    const { serve, ...result } = await measureColdStart(etcd.endpoint, EMPTY, BIG, sizes.cold);
    big = serve;
    report.scenarios.coldStart = result;
    report.add(coldRow(cold, result));
  });
  big ??= await startServe('serve-big', etcd.endpoint, BIG);
  const bigServe = big;
  await bigServe.xdsAddress;

  // --- (a) at the big fleet, against the small one.
  const latency = latencyNames(bigCount, smallCount, sizes.latencyRounds * 2);
  await scenario('a. change latency at the big fleet', [[latency.latency, '≤ 1.5 × p50@small + 2 ms'], [latency.cpu, '≤ 5 ms']], async () => {
    if (!small) throw new Error('the small-fleet half of (a) did not run');
    const large = await measureChangeLatency(bigServe, client, BIG, sizes.latencyRounds);
    report.scenarios.latencyBig = large;
    for (const row of latencyRows(latency, small, large)) report.add(row);
  });

  // --- (g) admin at the big fleet.
  const admin = adminNames(bigCount);
  await scenario('g. admin', [[admin.size, '≤ 200 KB'], [admin.time, '≤ 50 ms'], [admin.stall, '≤ 50 ms'], [admin.services, '≤ 50 ms']], async () => {
    const page = await measureAdmin(bigServe, '/', sizes.adminRepeats);
    const services = await measureAdmin(bigServe, '/debug/services?limit=100', sizes.adminRepeats);
    report.scenarios.admin = { page, services };
    for (const row of adminRows(admin, page, services)) report.add(row);
  });

  // --- (c)/(d) fan-out, with the bare floor and etcd's own put→watch.
  let watch: number[] = [];
  const fan = sizes.fan;
  const fanName = fanNames(fan.streams, fan.connections, bigCount, fan.largeEndpoints, fan.smallRounds, fan.largeRounds);
  await scenario('c. fan-out, small service', [[fanName.small, '≤ 1.5 × (etcd p99 + bare p99)']], async () => {
    watch = await etcdWatchLatency(client, sizes.watchRounds);
    report.scenarios.etcdWatch = { p50: percentile(watch, 50), p99: percentile(watch, 99), rounds: watch.length };
    const result = await measureFanOut(bigServe, bare, client, BIG, {
      service: 'fan-small', serviceIndex: 60_001, endpoints: 10, streams: fan.streams, connections: fan.connections, rounds: fan.smallRounds, roundTimeoutMs: 30_000,
    });
    report.scenarios.fanOutSmall = result;
    report.add(fanSmallRow(fanName.small, result, watch));
  });
  await scenario('d. fan-out, large service', [[fanName.large, '≤ 1.2 × (etcd p50 + bare last stream)']], async () => {
    if (watch.length === 0) watch = await etcdWatchLatency(client, sizes.watchRounds);
    const result = await measureFanOut(bigServe, bare, client, BIG, {
      service: 'fan-large', serviceIndex: 60_002, endpoints: fan.largeEndpoints, streams: fan.streams, connections: fan.connections, rounds: fan.largeRounds, roundTimeoutMs: 120_000,
    });
    report.scenarios.fanOutLarge = result;
    report.add(fanLargeRow(fanName.large, result, watch));
  });
  await bare.stop();
  // The churn runs on the fleet of the issue: take the large fan-out service away again.
  await withTimeout(client.delete().prefix(`${BIG}fan-large/`), 60_000, 'deleting the large fan-out service');
  await sleep(2_000);

  // --- (e) churn.
  const churn = sizes.churn;
  const churnTargets: Array<[string, string]> = [
    [churnName('delivery', churn, sizes.big.services), 'p99 ≤ 200 ms'],
    [churnName('server CPU', churn, sizes.big.services), '≤ 1 core'],
    [churnName('RSS', churn, sizes.big.services), 'flat'],
    [churnName('queues', churn, sizes.big.services), 'no growth'],
  ];
  await scenario('e. churn', churnTargets, async () => {
    const result = await measureChurn(bigServe, client, BIG, { ...churn, services: sizes.big.services, perService: sizes.big.perService });
    report.scenarios.churn = result;
    for (const row of churnRows(result)) report.add(row);
  });
  const errors = bigServe.errors();
  if (errors > 0) progress(`the big control plane logged ${errors} error lines: ${bigServe.tail().slice(-1500)}`);
  await bigServe.stop();
}

installTeardownHandlers();
let exitCode = 0;
try {
  await main();
} catch (err) {
  exitCode = 1;
  progress(`bench stopped: ${(err as Error).stack ?? String(err)}`);
} finally {
  await teardown();
}
if (unfinished > 0) exitCode = 1;
report.ensure({
  a: 'p50 ≤ 1.5 × p50@small + 2 ms; CPU/change ≤ 5 ms',
  b: '≤ 2.5 × range-read floor',
  c: '≤ 1.5 × (etcd p99 + bare p99)',
  d: '≤ 1.2 × (etcd p50 + bare last stream)',
  e: 'p99 ≤ 200 ms, ≤ 1 core, flat RSS and queues',
  f: '≤ 2 × bare per stream',
  g: '/ ≤ 200 KB, ≤ 50 ms; stalls ≤ 50 ms',
  h: '≤ 1 s',
});
report.print();
console.log(`load average ${loadAtStart} at the start, ${loadAverage()} at the end, on ${os.cpus().length} cores: figures are ratios to floors measured alongside for this reason`);
report.printProfiles(startedAt);
const written = report.write({ startedAt: new Date(startedAt).toISOString(), quick, sizes, node: process.version, cores: os.cpus().length, loadAverage: { start: loadAtStart, end: loadAverage() }, seconds: (Date.now() - startedAt) / 1_000 });
console.log(`\nwrote ${written} (${((Date.now() - startedAt) / 1_000).toFixed(0)} s)`);
process.exit(exitCode);
