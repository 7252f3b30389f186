// Prometheus metrics: gauges read the admin state at scrape time, counters and histograms move with events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics, type AdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { FixtureState, waitingStream } from './fixtures.js';

/** The value of one series, e.g. value(text, 'etcd_xds_acks_total{type="cluster"}'); undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let state: FixtureState;
let hub: MetricsEventHub;
let metrics: AdminMetrics;
let server: AdminServer;

beforeAll(async () => {
  state = new FixtureState();
  hub = new MetricsEventHub();
  metrics = createAdminMetrics(hub, state);
  server = await startAdminServer({ address: '127.0.0.1:0', state, metrics, logger: silentLogger() });
});
afterAll(async () => {
  await server?.close();
});

describe('/metrics', () => {
  it('serves the Prometheus text format with process metrics', async () => {
    const response = await fetch(`http://${server.address}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('# TYPE etcd_xds_connected_streams gauge');
    expect(value(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('reads gauges from the state at scrape time', async () => {
    const text = await metrics.text();
    expect(value(text, 'etcd_xds_connected_streams{api="ads",protocol="sotw"}')).toBe(1);
    expect(value(text, 'etcd_xds_connected_streams{api="ads",protocol="delta"}')).toBe(1);
    expect(value(text, 'etcd_xds_connected_streams{api="eds",protocol="sotw"}')).toBe(1);
    expect(value(text, 'etcd_xds_connected_streams{api="cds",protocol="delta"}')).toBe(0);
    expect(value(text, 'etcd_xds_stream_sync_status{type="endpoint",status="NACKED"}')).toBe(1);
    expect(value(text, 'etcd_xds_stream_sync_status{type="endpoint",status="STALE"}')).toBe(1);
    expect(value(text, 'etcd_xds_stream_sync_status{type="cluster",status="SYNCED"}')).toBe(2);
    expect(value(text, 'etcd_xds_registry_services')).toBe(2);
    // The three states add up to what `etcd-xds services` counts (3: greeter and payments live, orphan rejected-only).
    expect(value(text, 'etcd_xds_services{state="live"}')).toBe(2);
    expect(value(text, 'etcd_xds_services{state="empty"}')).toBe(0);
    expect(value(text, 'etcd_xds_services{state="rejected-only"}')).toBe(1);
    expect(value(text, 'etcd_xds_stream_sync_status{type="listener",status="NOT_FOUND"}')).toBe(0);
    expect(value(text, 'etcd_xds_registry_instances')).toBe(4);
    expect(value(text, 'etcd_xds_rejected_registrations')).toBe(3);
    expect(value(text, 'etcd_xds_snapshot_resources{type="route"}')).toBe(2);
    expect(value(text, 'etcd_xds_probed_instances{verdict="unhealthy"}')).toBe(1);
    expect(value(text, 'etcd_xds_ready')).toBe(1);
    expect(value(text, 'etcd_xds_etcd_watch_state{state="watching"}')).toBe(1);
    expect(value(text, 'etcd_xds_etcd_watch_state{state="reconnecting"}')).toBe(0);

    state.connected = [...state.connected, waitingStream(state.snap)];
    const waiting = await metrics.text();
    expect(value(waiting, 'etcd_xds_stream_sync_status{type="listener",status="NOT_FOUND"}')).toBe(1);
    expect(value(waiting, 'etcd_xds_stream_sync_status{type="listener",status="SYNCED"}')).toBe(1);

    state.connected = state.connected.slice(0, 1);
    state.watchStatus = { state: 'reconnecting', reconnects: 2, resyncs: 1 };
    state.isReady = false;
    const later = await metrics.text();
    expect(value(later, 'etcd_xds_connected_streams{api="ads",protocol="delta"}')).toBe(0);
    expect(value(later, 'etcd_xds_stream_sync_status{type="endpoint",status="NACKED"}')).toBe(0);
    expect(value(later, 'etcd_xds_etcd_watch_state{state="watching"}')).toBe(0);
    expect(value(later, 'etcd_xds_etcd_watch_state{state="reconnecting"}')).toBe(1);
    expect(value(later, 'etcd_xds_etcd_watch_reconnects_total')).toBe(2);
    expect(value(later, 'etcd_xds_etcd_watch_resyncs_total')).toBe(1);
    expect(value(later, 'etcd_xds_ready')).toBe(0);

    state.watchStatus = { state: 'watching', reconnects: 5, resyncs: 1 };
    expect(value(await metrics.text(), 'etcd_xds_etcd_watch_reconnects_total')).toBe(5);
  });

  it('counts responses, ACKs and NACKs per type and observes push latency and build time', async () => {
    const before = await metrics.text();
    expect(value(before, 'etcd_xds_responses_sent_total{type="endpoint"}')).toBe(0);
    expect(value(before, 'etcd_xds_nacks_total{type="endpoint"}')).toBe(0);

    const stream = state.connected[0]!.info();
    hub.emitXdsEvent('responseSent', stream, TYPE_URL.endpoint, 2, Date.now() - 20);
    hub.emitXdsEvent('responseSent', stream, TYPE_URL.endpoint, 1, undefined);
    hub.emitXdsEvent('responseSent', stream, TYPE_URL.cluster, 3, Date.now() - 5);
    hub.emitXdsEvent('ack', stream, TYPE_URL.endpoint);
    hub.emitXdsEvent('ack', stream, TYPE_URL.cluster);
    hub.emitXdsEvent('nack', stream, TYPE_URL.endpoint, { version: 'v', nonce: '1', message: 'bad', at: new Date() });
    hub.emitSnapshotBuilt(state.snap, 12);

    const text = await metrics.text();
    expect(value(text, 'etcd_xds_responses_sent_total{type="endpoint"}')).toBe(2);
    expect(value(text, 'etcd_xds_responses_sent_total{type="cluster"}')).toBe(1);
    expect(value(text, 'etcd_xds_resources_sent_total{type="endpoint"}')).toBe(3);
    expect(value(text, 'etcd_xds_acks_total{type="endpoint"}')).toBe(1);
    expect(value(text, 'etcd_xds_acks_total{type="cluster"}')).toBe(1);
    expect(value(text, 'etcd_xds_nacks_total{type="endpoint"}')).toBe(1);
    expect(value(text, 'etcd_xds_nacks_total{type="cluster"}')).toBe(0);
    // Only responses caused by a registry change carry a latency.
    expect(value(text, 'etcd_xds_push_latency_seconds_count{type="endpoint"}')).toBe(1);
    expect(value(text, 'etcd_xds_push_latency_seconds_sum{type="endpoint"}')).toBeGreaterThanOrEqual(0.02);
    expect(value(text, 'etcd_xds_push_latency_seconds_bucket{le="10",type="endpoint"}')).toBe(1);
    expect(value(text, 'etcd_xds_snapshot_build_seconds_count')).toBe(1);
    expect(value(text, 'etcd_xds_snapshot_build_seconds_sum')).toBeCloseTo(0.012, 6);
  });
});
