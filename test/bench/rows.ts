// Each scenario's figures as table rows: what was measured, the floor it is compared with, the limit that works out
// to in this run, and PASS/MISS. `value` and `limit` go to the JSON as numbers for tools that compare runs.
import { kib, median, mib, ms, percentile, short } from './measure.js';
import type { Row } from './report.js';
import type { AdminRequest } from './scenarios/admin.js';
import type { ChangeLatency } from './scenarios/change-latency.js';
import type { ChurnResult } from './scenarios/churn.js';
import type { ColdStart } from './scenarios/cold-start.js';
import type { ConfigFollow } from './scenarios/config-follow.js';
import type { FanOutResult } from './scenarios/fan-out.js';
import type { IdleStreams } from './scenarios/idle-streams.js';

const ratio = (a: number, b: number) => `×${(a / b).toFixed(2)}`;

export const latencyNames = (big: number, small: number, changes: number) => ({
  latency: `a. put→EDS p50, ${short(big)} vs ${short(small)} registrations (1 stream, ${changes} changes each)`,
  cpu: `a. server CPU per one-instance change, ${short(big)} registrations`,
});

export function latencyRows(names: ReturnType<typeof latencyNames>, small: ChangeLatency, big: ChangeLatency): Row[] {
  const limit = 1.5 * small.p50 + 2;
  return [
    {
      scenario: names.latency,
      figure: `${ms(big.p50)} (p99 ${ms(big.p99)}) vs ${ms(small.p50)} (p99 ${ms(small.p99)}); ${ratio(big.p50, small.p50)}`,
      target: `≤ 1.5 × ${ms(small.p50)} + 2 ms = ${ms(limit)}`,
      pass: big.p50 <= limit,
      value: big.p50,
      limit,
    },
    {
      scenario: names.cpu,
      figure: `${ms(big.cpuPerChangeMs)} (at ${short(100)}: ${ms(small.cpuPerChangeMs)})`,
      target: '≤ 5 ms',
      pass: big.cpuPerChangeMs <= 5,
      value: big.cpuPerChangeMs,
      limit: 5,
    },
  ];
}

export const coldName = (big: number) => `b. cold start, ${short(big)} registrations`;

export function coldRow(name: string, cold: Omit<ColdStart, 'serve'>): Row {
  const full = Math.min(...cold.fullReadyMs);
  const empty = Math.min(...cold.emptyReadyMs);
  const own = full - empty;
  const floor = Math.min(...cold.floorMs);
  return {
    scenario: name,
    figure: `/readyz ${ms(full)} − ${ms(empty)} on an empty prefix = ${ms(own)}; floor (range, 500/page, + JSON.parse) ${ms(floor)}; ${ratio(own, floor)}`,
    target: `≤ 2.5 × floor = ${ms(2.5 * floor)}`,
    pass: own <= 2.5 * floor,
    value: own,
    limit: 2.5 * floor,
  };
}

export const fanNames = (streams: number, connections: number, big: number, largeEndpoints: number, smallRounds: number, largeRounds: number) => ({
  small: `c. fan-out p99, ${short(streams)} streams/${connections} conns, 10-endpoint service, ${short(big)} registrations, ${smallRounds} changes`,
  large: `d. fan-out last stream, ${short(streams)} streams/${connections} conns, ${short(largeEndpoints)}-endpoint service, ${largeRounds} changes`,
});

export function fanSmallRow(name: string, result: FanOutResult, watch: number[]): Row {
  const etcdP99 = percentile(watch, 99);
  const floor = etcdP99 + result.bareRoundP99;
  return {
    scenario: name,
    figure: `${ms(result.productRoundP99)} per change (median; pooled ${ms(result.productP99)}); floor: etcd put→watch p99 ${ms(etcdP99)} + bare ${ms(result.bareRoundP99)} = ${ms(floor)}; ${ratio(result.productRoundP99, floor)}`,
    target: `≤ 1.5 × floor = ${ms(1.5 * floor)}`,
    pass: result.productRoundP99 <= 1.5 * floor,
    value: result.productRoundP99,
    limit: 1.5 * floor,
  };
}

export function fanLargeRow(name: string, result: FanOutResult, watch: number[]): Row {
  const last = median(result.product.lastStream);
  const etcdP50 = percentile(watch, 50);
  const bare = median(result.bare.lastStream);
  const floor = etcdP50 + bare;
  return {
    scenario: `${name} (${kib(result.product.bytes)} each)`,
    figure: `${ms(last)} (median of changes); floor: etcd p50 ${ms(etcdP50)} + bare ${ms(bare)} = ${ms(floor)}; ${ratio(last, floor)}`,
    target: `≤ 1.2 × floor = ${ms(1.2 * floor)}`,
    pass: last <= 1.2 * floor,
    value: last,
    limit: 1.2 * floor,
  };
}

export const churnName = (what: string, churn: { rate: number; streams: number; servicesPerStream: number; seconds: number }, services: number) =>
  `e. churn ${what}, ${churn.rate}/s over ${short(services)} services, ${short(churn.streams)} streams × ${churn.servicesPerStream}, ${churn.seconds} s`;

export function churnRows(result: ChurnResult): Row[] {
  const name = (what: string) => churnName(what, result, result.services);
  const growth = (result.rssSlopePerMinute * result.seconds * 0.8) / 60;
  const allowedBacklog = result.backlogFirstThird * 1.5 + result.rate * 0.05;
  const missing = [
    result.undelivered ? `${short(result.undelivered)} never arrived` : '',
    result.skipped ? `${short(result.skipped)} not issued (etcd behind)` : '',
  ].filter(Boolean);
  return [
    {
      scenario: name('delivery'),
      figure: `p99 ${ms(result.p99)}, p50 ${ms(result.p50)}; ${short(result.deliveries)} deliveries of ${short(result.issued)} changes${missing.length ? `; ${missing.join(', ')}` : ''}`,
      target: 'p99 ≤ 200 ms, every change issued',
      pass: result.p99 <= 200 && result.skipped === 0,
      value: result.p99,
      limit: 200,
    },
    {
      scenario: name('server CPU'),
      figure: `${result.cores.toFixed(2)} cores (etcd ${result.etcdCores?.toFixed(2) ?? '?'}, bench ${result.benchCores.toFixed(2)}; server waited for a CPU ${(result.serverStarved * 100).toFixed(0)}% of the time)`,
      target: '≤ 1 core',
      pass: result.cores <= 1,
      value: result.cores,
      limit: 1,
    },
    {
      scenario: name('RSS'),
      figure: `${mib(result.rssStart)} → ${mib(result.rssEnd)}, slope ${mib(result.rssSlopePerMinute)}/min (after the first fifth)`,
      target: `growth ≤ 10% of start: ${mib(growth)} ≤ ${mib(0.1 * result.rssStart)}`,
      pass: growth <= 0.1 * result.rssStart,
      value: growth,
      limit: 0.1 * result.rssStart,
    },
    {
      scenario: name('queues'),
      figure: `changes awaiting delivery: ${result.backlogFirstThird.toFixed(0)} (first third) → ${result.backlogLastThird.toFixed(0)} (last); ${result.undelivered} left ${result.drainSeconds} s after`,
      target: `≤ 1.5 × first + 50 ms of changes = ${allowedBacklog.toFixed(0)}; none left`,
      pass: result.backlogLastThird <= allowedBacklog && result.undelivered === 0,
      value: result.backlogLastThird,
      limit: allowedBacklog,
    },
  ];
}

export const idleName = (streams: number, connections: number, registrations: number) =>
  `f. idle streams, RSS per stream, ${short(streams)} streams/${connections} conns, ${short(registrations)} registrations`;

export function idleRow(name: string, idle: IdleStreams): Row {
  const limit = 2 * idle.barePerStream;
  const first = idle.product[0]![1];
  const last = idle.product[idle.product.length - 1]![1];
  return {
    scenario: name,
    figure: `${kib(idle.productPerStream)} (RSS ${mib(first)} → ${mib(last)}); bare ${kib(idle.barePerStream)}; ${ratio(idle.productPerStream, idle.barePerStream)}`,
    target: `≤ 2 × bare = ${kib(limit)} (the bench's target)`,
    pass: idle.barePerStream > 0 && idle.productPerStream <= limit,
    value: idle.productPerStream,
    limit,
  };
}

export const adminNames = (big: number) => ({
  size: `g. GET / first page size, ${short(big)} registrations`,
  time: `g. GET / time, ${short(big)} registrations`,
  stall: `g. event-loop stall during GET /, ${short(big)} registrations`,
  services: `g. event-loop stall during GET /debug/services?limit=100, ${short(big)} registrations`,
});

export function adminRows(names: ReturnType<typeof adminNames>, page: AdminRequest, services: AdminRequest): Row[] {
  const honoured = services.services !== undefined && services.services <= 100;
  return [
    { scenario: names.size, figure: `${kib(page.bytes)} (HTTP ${page.status})`, target: '≤ 200 KB', pass: page.status === 200 && page.bytes <= 200 * 1024, value: page.bytes, limit: 200 * 1024 },
    { scenario: names.time, figure: `${ms(page.ms)} (median of ${page.allMs.length})`, target: '≤ 50 ms', pass: page.ms <= 50, value: page.ms, limit: 50 },
    { scenario: names.stall, figure: `longest /healthz poll ${ms(page.stallMs)}`, target: '≤ 50 ms', pass: page.stallMs <= 50, value: page.stallMs, limit: 50 },
    {
      scenario: names.services,
      figure: `${ms(services.stallMs)}; the page: ${kib(services.bytes)} in ${ms(services.ms)}, ${short(services.services ?? 0)} services${honoured ? '' : ' (limit ignored: the full list)'}`,
      target: '≤ 50 ms',
      pass: services.status === 200 && services.stallMs <= 50,
      value: services.stallMs,
      limit: 50,
    },
  ];
}

export const configFollowName = (rounds: number) => `h. ServicePolicy put → proxyless traffic follows (grpc-js-xds, ${rounds} split flips)`;

export function configFollowRow(name: string, result: ConfigFollow): Row {
  return {
    scenario: name,
    figure: `p99 ${ms(result.p99)}, p50 ${ms(result.p50)} (put to the first reply from the new subset)`,
    target: '≤ 1 s',
    pass: result.p99 <= 1_000,
    value: result.p99,
    limit: 1_000,
  };
}
