// `npm run bench [-- --quick]`: the fleet-scale suite. Runs etcd and `etcd-xds serve` as child processes, drives
// them with raw ADS clients, and compares every figure with a floor measured in the same run (the machine is noisy).
// Prints one table (scenario, figure, target, PASS/MISS) and writes test-artifacts/bench.json. A MISS is a result,
// not an error: the exit code is non-zero only when a scenario could not run to its end.
// BENCH_PROFILE=1 runs every etcd-xds child under --cpu-prof (test-artifacts/profiles) and prints its hot spots.
import { Etcd3 } from 'etcd3';
import os from 'node:os';
import { startTestEtcd } from '../support/etcd.js';
import { startBareServer } from './bare-server.js';
import { fleetEntries, putAll, serviceName } from './fleet.js';
import { installTeardownHandlers, owned, progress, sleep, teardown, withTimeout } from './lifecycle.js';
import { childPidsNamed, count, kib, loadAverage, median, mib, ms, percentile } from './measure.js';
import { Report } from './report.js';
import { startServe, type ServeChild } from './serve-child.js';
import { FULL, QUICK } from './sizes.js';
import { measureAdmin } from './scenarios/admin.js';
import { measureChangeLatency, type ChangeLatency } from './scenarios/change-latency.js';
import { measureChurn } from './scenarios/churn.js';
import { measureColdStart } from './scenarios/cold-start.js';
import { etcdWatchLatency, measureFanOut } from './scenarios/fan-out.js';
import { measureIdleStreams } from './scenarios/idle-streams.js';

const quick = process.argv.includes('--quick');
const sizes = quick ? QUICK : FULL;
const SMALL = '/bench-small/';
const BIG = '/bench-big/';
const EMPTY = '/bench-empty/';
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

  // --- On the small fleet: (f) idle streams on a fresh child, then (a) at 100 registrations.
  let small: ChangeLatency | undefined;
  // The bare server starts alongside (idle until (f) needs it fresh): a node start costs seconds on a busy machine.
  const [smallServe, bare] = await Promise.all([startServe('serve-small', etcd.endpoint, SMALL), startBareServer('bare-ads-server')]);
  const smallXds = await smallServe.xdsAddress;
  const idleName = `f. idle streams: ${count(sizes.idle.streams)} streams over ${sizes.idle.connections} connections, ${smallCount} registrations`;
  await scenario('f. idle streams', [[idleName, '≤ 2 × bare per stream']], async () => {
    const services = Array.from({ length: sizes.small.services }, (_, s) => serviceName(s));
    const idle = await measureIdleStreams(smallServe, smallXds, bare, services, sizes.idle.streams, sizes.idle.connections);
    report.scenarios.idleStreams = idle;
    const limit = 2 * idle.barePerStream;
    report.add({
      scenario: idleName,
      figure:
        `server ${kib(idle.productPerStream)}/stream (RSS ${mib(idle.product[0]![1])} → ${mib(idle.product[idle.product.length - 1]![1])}), ` +
        `bare ${kib(idle.barePerStream)}/stream (slopes over ${idle.product.length - 1} steps); ratio ${(idle.productPerStream / idle.barePerStream).toFixed(2)}`,
      target: `≤ 2 × bare = ${kib(limit)} (bench's own target)`,
      pass: idle.productPerStream <= limit,
    });
  });
  await scenario('a. change latency at the small fleet', [], async () => {
    small = await measureChangeLatency(smallServe, client, SMALL, sizes.latencyRounds);
    report.scenarios.latencySmall = small;
  });
  await smallServe.stop();

  // --- (b) cold start; the last big child stays up for the rest.
  let big: ServeChild | undefined;
  const coldName = `b. cold start, ${count(bigCount)} registrations`;
  await scenario('b. cold start', [[coldName, '≤ 2.5 × range-read floor']], async () => {
    const cold = await measureColdStart(etcd.endpoint, EMPTY, BIG, sizes.cold);
    big = cold.serve;
    const { serve: _serve, ...data } = cold;
    report.scenarios.coldStart = data;
    const own = Math.min(...cold.fullReadyMs) - Math.min(...cold.emptyReadyMs);
    const floor = Math.min(...cold.floorMs);
    report.add({
      scenario: coldName,
      figure: `ready ${ms(Math.min(...cold.fullReadyMs))} − empty prefix ${ms(Math.min(...cold.emptyReadyMs))} = ${ms(own)}; floor (etcd3 range, pages of 500, + JSON.parse) ${ms(floor)}; ratio ${(own / floor).toFixed(2)}`,
      target: `≤ 2.5 × floor = ${ms(2.5 * floor)}`,
      pass: own <= 2.5 * floor,
    });
  });
  big ??= await startServe('serve-big', etcd.endpoint, BIG);
  const bigServe = big;
  await bigServe.xdsAddress;

  // --- (a) at the big fleet, against the small one.
  const latencyName = `a. put→EDS, ${count(bigCount)} vs ${smallCount} registrations, 1 stream, ${sizes.latencyRounds * 2} changes each`;
  const cpuName = `a. server CPU per single-instance change, ${count(bigCount)} registrations`;
  await scenario('a. change latency at the big fleet', [[latencyName, '≤ 1.5 × p50@small + 2 ms'], [cpuName, '≤ 5 ms']], async () => {
    if (!small) throw new Error('the small-fleet half of (a) did not run');
    const large = await measureChangeLatency(bigServe, client, BIG, sizes.latencyRounds);
    report.scenarios.latencyBig = large;
    const limit = 1.5 * small.p50 + 2;
    report.add({
      scenario: latencyName,
      figure: `p50 ${ms(large.p50)} (p99 ${ms(large.p99)}) vs ${ms(small.p50)} (p99 ${ms(small.p99)}); ratio ${(large.p50 / small.p50).toFixed(2)}`,
      target: `≤ 1.5 × ${ms(small.p50)} + 2 ms = ${ms(limit)}`,
      pass: large.p50 <= limit,
    });
    report.add({
      scenario: cpuName,
      figure: `${ms(large.cpuPerChangeMs)} per change (${smallCount}: ${ms(small.cpuPerChangeMs)}; ratio ${(large.cpuPerChangeMs / Math.max(0.01, small.cpuPerChangeMs)).toFixed(1)})`,
      target: '≤ 5 ms',
      pass: large.cpuPerChangeMs <= 5,
    });
  });

  // --- (g) admin at the big fleet.
  const pageName = (what: string) => `g. GET / ${what}, ${count(bigCount)} registrations`;
  const servicesName = `g. GET /debug/services?limit=100, ${count(bigCount)} registrations`;
  await scenario(
    'g. admin',
    [[pageName('size'), '≤ 200 KB'], [pageName('time'), '≤ 50 ms'], [pageName('event-loop stall'), '≤ 50 ms'], [servicesName, 'stall ≤ 50 ms']],
    async () => {
      const page = await measureAdmin(bigServe, '/', sizes.adminRepeats);
      const services = await measureAdmin(bigServe, '/debug/services?limit=100', sizes.adminRepeats);
      report.scenarios.admin = { page, services };
      report.add({ scenario: pageName('size'), figure: `${kib(page.bytes)} (HTTP ${page.status})`, target: '≤ 200 KB', pass: page.status === 200 && page.bytes <= 200 * 1024 });
      report.add({ scenario: pageName('time'), figure: `${ms(page.ms)} (median of ${page.allMs.length})`, target: '≤ 50 ms', pass: page.ms <= 50 });
      report.add({ scenario: pageName('event-loop stall'), figure: `longest /healthz poll ${ms(page.stallMs)}`, target: '≤ 50 ms', pass: page.stallMs <= 50 });
      const honoured = services.services !== undefined && services.services <= 100;
      report.add({
        scenario: servicesName,
        figure: `${kib(services.bytes)} in ${ms(services.ms)}, ${count(services.services ?? 0)} services${honoured ? '' : ' (limit ignored: full list)'}; longest /healthz poll ${ms(services.stallMs)}`,
        target: 'stall ≤ 50 ms',
        pass: services.status === 200 && services.stallMs <= 50,
      });
    },
  );

  // --- (c)/(d) fan-out, with the bare floor and etcd's own put→watch.
  let watch: number[] = [];
  const fan = sizes.fan;
  const smallFanName = `c. fan-out: ${count(fan.streams)} streams/${fan.connections} conns, 10-endpoint service, ${count(bigCount)} registrations, ${fan.smallRounds} rounds`;
  const largeFanName = `d. fan-out: ${count(fan.streams)} streams/${fan.connections} conns, ${count(fan.largeEndpoints)}-endpoint service, ${fan.largeRounds} rounds`;
  await scenario('c. fan-out, small service', [[smallFanName, '≤ 1.5 × (etcd p99 + bare p99)']], async () => {
    watch = await etcdWatchLatency(client, sizes.watchRounds);
    report.scenarios.etcdWatch = { p50: percentile(watch, 50), p99: percentile(watch, 99), rounds: watch.length };
    const result = await measureFanOut(bigServe, bare, client, BIG, {
      service: 'fan-small', serviceIndex: 60_001, endpoints: 10, streams: fan.streams, connections: fan.connections, rounds: fan.smallRounds, roundTimeoutMs: 30_000,
    });
    report.scenarios.fanOutSmall = result;
    const etcdP99 = percentile(watch, 99);
    const floor = etcdP99 + result.bareRoundP99;
    report.add({
      scenario: smallFanName,
      figure:
        `p99 per change ${ms(result.productRoundP99)} (median of rounds; pooled ${ms(result.productP99)}); ` +
        `floor = etcd put→watch p99 ${ms(etcdP99)} + bare p99 per change ${ms(result.bareRoundP99)} (pooled ${ms(result.bareP99)}) = ${ms(floor)}; ratio ${(result.productRoundP99 / floor).toFixed(2)}`,
      target: `≤ 1.5 × floor = ${ms(1.5 * floor)}`,
      pass: result.productRoundP99 <= 1.5 * floor,
    });
  });
  await scenario('d. fan-out, large service', [[largeFanName, '≤ 1.2 × (etcd p50 + bare last stream)']], async () => {
    if (watch.length === 0) watch = await etcdWatchLatency(client, sizes.watchRounds);
    const result = await measureFanOut(bigServe, bare, client, BIG, {
      service: 'fan-large', serviceIndex: 60_002, endpoints: fan.largeEndpoints, streams: fan.streams, connections: fan.connections, rounds: fan.largeRounds, roundTimeoutMs: 120_000,
    });
    report.scenarios.fanOutLarge = result;
    const last = median(result.product.lastStream);
    const etcdP50 = percentile(watch, 50);
    const floor = etcdP50 + median(result.bare.lastStream);
    report.add({
      scenario: `${largeFanName} (${kib(result.product.bytes)} per response)`,
      figure: `last stream ${ms(last)} (median of rounds); floor = etcd p50 ${ms(etcdP50)} + bare last stream ${ms(median(result.bare.lastStream))} = ${ms(floor)}; ratio ${(last / floor).toFixed(2)}`,
      target: `≤ 1.2 × floor = ${ms(1.2 * floor)}`,
      pass: last <= 1.2 * floor,
    });
  });
  await bare.stop();
  // The churn runs on the fleet of the issue: take the large fan-out service away again.
  await withTimeout(client.delete().prefix(`${BIG}fan-large/`), 60_000, 'deleting the large fan-out service');
  await sleep(2_000);

  // --- (e) churn.
  const churn = sizes.churn;
  const churnName = (what: string) =>
    `e. churn ${what}: ${churn.rate}/s over ${count(sizes.big.services)} services, ${count(churn.streams)} streams × ${churn.servicesPerStream} services, ${churn.seconds} s`;
  await scenario(
    'e. churn',
    [[churnName('delivery'), 'p99 ≤ 200 ms'], [churnName('server CPU'), '≤ 1 core'], [churnName('RSS'), 'flat'], [churnName('queues'), 'no growth']],
    async () => {
      const result = await measureChurn(bigServe, client, BIG, { ...churn, services: sizes.big.services, perService: sizes.big.perService });
      report.scenarios.churn = result;
      report.add({
        scenario: churnName('delivery'),
        figure: `p99 ${ms(result.p99)}, p50 ${ms(result.p50)}; ${count(result.deliveries)} deliveries of ${count(result.issued)} changes${result.undelivered ? `, ${count(result.undelivered)} never delivered` : ''}${result.skipped ? `, ${count(result.skipped)} changes not issued (etcd behind)` : ''}`,
        target: 'p99 ≤ 200 ms',
        pass: result.p99 <= 200 && result.skipped === 0,
      });
      report.add({
        scenario: churnName('server CPU'),
        figure:
          `${result.cores.toFixed(2)} cores (meanwhile etcd ${result.etcdCores?.toFixed(2) ?? '?'}, the bench's clients ${result.benchCores.toFixed(2)}; ` +
          `the server waited for a CPU ${(result.serverStarved * 100).toFixed(0)}% of the time)`,
        target: '≤ 1 core',
        pass: result.cores <= 1,
      });
      const growth = (result.rssSlopePerMinute * result.seconds * 0.8) / 60;
      report.add({
        scenario: churnName('RSS'),
        figure: `${mib(result.rssStart)} → ${mib(result.rssEnd)}; slope ${mib(result.rssSlopePerMinute)}/min after the first fifth`,
        target: `growth over the run ≤ 10% of start (${mib(growth)} now)`,
        pass: growth <= 0.1 * result.rssStart,
      });
      const allowed = result.backlogFirstThird * 1.5 + result.rate * 0.05;
      report.add({
        scenario: churnName('queues'),
        figure: `undelivered changes in flight: ${result.backlogFirstThird.toFixed(0)} (first third) → ${result.backlogLastThird.toFixed(0)} (last third); ${result.undelivered} left ${result.drainSeconds} s after`,
        target: `last ≤ 1.5 × first + 50 ms of changes = ${allowed.toFixed(0)}; none left`,
        pass: result.backlogLastThird <= allowed && result.undelivered === 0,
      });
    },
  );
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
});
report.print();
console.log(`load average ${loadAtStart} at the start, ${loadAverage()} at the end, on ${os.cpus().length} cores: figures are ratios to floors measured alongside for this reason`);
report.printProfiles(startedAt);
const written = report.write({ startedAt: new Date(startedAt).toISOString(), quick, sizes, node: process.version, cores: os.cpus().length, loadAverage: { start: loadAtStart, end: loadAverage() }, seconds: (Date.now() - startedAt) / 1_000 });
console.log(`\nwrote ${written} (${((Date.now() - startedAt) / 1_000).toFixed(0)} s)`);
process.exit(exitCode);
