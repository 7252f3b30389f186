// Wires the stages together: etcd → registry watcher → (health checker) → snapshot publisher → xDS server, with
// the admin API reading the same objects. `etcd-xds serve`, the demo and the end-to-end tests all start this.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { createAdminMetrics } from './admin/metrics.js';
import { startAdminServer, type AdminServer } from './admin/server.js';
import type { AdminState } from './admin/state.js';
import { HealthChecker } from './health/health-checker.js';
import type { Logger } from './logger.js';
import { createEtcdClient, type EtcdConnection } from './registry/etcd-client.js';
import { RegistryStore } from './registry/store.js';
import { RegistryWatcher } from './registry/watcher.js';
import { ControlPlaneState, defaultStatePrefix, isPermissionDenied } from './state/control-plane-state.js';
import { SnapshotPublisher } from './snapshot/publisher.js';
import { TYPE_URL } from './snapshot/types.js';
import { XdsServer } from './xds/server.js';

export interface ControlPlaneOptions {
  etcdEndpoints: string[];
  prefix: string;
  /** host:port for xDS; port 0 = any free port. */
  xdsAddress: string;
  /** host:port for the admin API; port 0 = any free port. */
  adminAddress: string;
  adminToken?: string;
  logger: Logger;
  /** Coalescing of registry changes into snapshots (DESIGN.md: 10 ms quiet window, 100 ms at most). */
  quietMs?: number;
  maxWaitMs?: number;
  /** How long a service without instances keeps its Cluster/Listener/Route; default 10 min. */
  serviceGcMs?: number;
  /**
   * etcd prefix of the control plane's own state (grace periods, last good values) shared by replicas and restarts;
   * default `/etcd-xds/state<prefix>` (so deployments on different registration prefixes never share it). `false`
   * keeps those decisions in this process's memory.
   */
  statePrefix?: string | false;
  /** Active health checks from each registration's healthCheck; default on. */
  healthChecks?: boolean;
  healthConcurrency?: number;
  /** Resource TTL (with heartbeats) for clients that support it; 0 = off. */
  resourceTtlMs?: number;
  /** TLS for the xDS listener; with clientCaFile, clients must present a certificate signed by it (mTLS). */
  xdsTls?: { certFile: string; keyFile: string; clientCaFile?: string };
  /** TLS files and user/password for etcd. */
  etcdAuth?: Omit<EtcdConnection, 'endpoints'>;
}

function xdsCredentials(tls: ControlPlaneOptions['xdsTls']): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    tls.clientCaFile ? readFileSync(tls.clientCaFile) : null,
    [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
    Boolean(tls.clientCaFile),
  );
}

export interface ControlPlane {
  /** Resolves with the bound xDS address once the first full etcd sync is done and xDS listens. */
  readonly xdsReady: Promise<string>;
  readonly adminAddress: string;
  readonly watcher: RegistryWatcher;
  readonly publisher: SnapshotPublisher;
  readonly xds: XdsServer;
  readonly health: HealthChecker | undefined;
  readonly state: ControlPlaneState | undefined;
  close(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { logger } = options;
  const client: Etcd3 = createEtcdClient({ ...options.etcdAuth, endpoints: options.etcdEndpoints });
  // Read TLS files up front: a wrong path fails at start, not after the first etcd sync.
  const credentials = xdsCredentials(options.xdsTls);
  const serviceGcMs = options.serviceGcMs ?? 10 * 60_000;
  const statePrefix = options.statePrefix === false ? undefined : (options.statePrefix ?? defaultStatePrefix(options.prefix));
  if (statePrefix !== undefined && (statePrefix.startsWith(options.prefix) || options.prefix.startsWith(statePrefix))) {
    throw new Error(`the state prefix ${statePrefix} and the registration prefix ${options.prefix} must not contain each other`);
  }
  const state = statePrefix === undefined ? undefined : new ControlPlaneState({ client, prefix: statePrefix, serviceGcMs, logger: logger.child({ component: 'state' }) });
  const registryLogger = logger.child({ component: 'registry' });
  const watcher = new RegistryWatcher({
    client,
    prefix: options.prefix,
    logger: registryLogger,
    store: new RegistryStore({ prefix: options.prefix, logger: registryLogger, ...(state ? { lastGood: state } : {}) }),
  });
  const health = options.healthChecks === false
    ? undefined
    : new HealthChecker({ logger, ...(options.healthConcurrency ? { concurrency: options.healthConcurrency } : {}) });
  const publisher = new SnapshotPublisher({
    registry: () => watcher.view(),
    verdictOf: (key) => health?.verdict(key),
    logger: logger.child({ component: 'snapshot' }),
    ...(options.quietMs !== undefined ? { quietMs: options.quietMs } : {}),
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    serviceGcMs,
    ...(state ? { grace: state } : {}),
  });
  const xds = new XdsServer({ source: publisher, logger, ...(options.resourceTtlMs ? { resourceTtlMs: options.resourceTtlMs } : {}) });

  let ready = false;
  watcher.on('change', ({ view, changedServices, changeSeenAt }) => {
    health?.update(view, changedServices);
    // The publisher holds changes until its first snapshot (built from the first full sync) is out.
    publisher.markChanged(changedServices, changeSeenAt);
  });
  watcher.on('state', ({ state, previous, reason }) => logger.info({ state, previous, reason }, 'etcd watch state'));
  state?.watcher.on('change', ({ changedServices, changeSeenAt }) => publisher.markChanged(changedServices, changeSeenAt));
  health?.onChange((keys) => {
    const services = new Set<string>();
    for (const key of keys) {
      const service = health.serviceOf(key);
      if (service !== undefined) services.add(service);
    }
    publisher.markChanged(services);
  });

  const adminState: AdminState = {
    registry: () => watcher.view(),
    snapshot: () => publisher.current(),
    streams: () => xds.streamInfos(),
    probes: () => health?.probeStates() ?? [],
    ready: () => ready,
    watch: () => {
      const stats = watcher.stats();
      return {
        state: stats.state,
        reconnects: stats.reconnects,
        resyncs: stats.resyncs,
        ...(stats.lastError !== undefined && stats.state !== 'watching' ? { lastError: stats.lastError } : {}),
        ...(stats.failingSince !== undefined ? { failingSince: stats.failingSince } : {}),
      };
    },
  };
  const metrics = createAdminMetrics(
    { onXdsEvent: (event, listener) => void xds.on(event, listener as never), onSnapshotBuilt: (listener) => publisher.onBuilt(listener) },
    adminState,
  );
  const admin: AdminServer = await startAdminServer({
    address: options.adminAddress,
    ...(options.adminToken ? { token: options.adminToken } : {}),
    state: adminState,
    metrics,
    logger: logger.child({ component: 'admin' }),
  });

  // The shared state is read before the registry, so the first listing already knows recorded last good values.
  const stateSynced = state ? syncState(state, logger) : Promise.resolve();
  void stateSynced.then(() => watcher.start());
  logger.info({ endpoints: options.etcdEndpoints, prefix: options.prefix, statePrefix }, 'waiting for the first full etcd sync');
  // xDS listens only after the first full sync: answering a reconnecting Envoy from an empty registry would tell it
  // every cluster is gone.
  const xdsReady = watcher.ready().then(async () => {
    await publisher.publishInitial();
    ready = true;
    const address = await xds.listen(options.xdsAddress, credentials);
    const snapshot = publisher.current();
    logger.info({ address, tls: Boolean(options.xdsTls), mtls: Boolean(options.xdsTls?.clientCaFile), services: snapshot.resources.get(TYPE_URL.cluster)?.size ?? 0, version: snapshot.version }, 'xDS server listening');
    return address;
  });
  xdsReady.catch(() => undefined);

  let closing: Promise<void> | undefined;
  return {
    xdsReady,
    adminAddress: admin.address,
    watcher,
    publisher,
    xds,
    health,
    state,
    close: () =>
      (closing ??= (async () => {
        await xds.close(2_000);
        await admin.close();
        health?.stop();
        publisher.stop();
        await Promise.all([watcher.stop(), state?.watcher.stop()]);
        client.close();
      })()),
  };
}

/** Resolves once the state prefix is listed, or at once (memory only from then on) when etcd refuses to let us read it. */
function syncState(state: ControlPlaneState, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const onFailure = (err: unknown) => {
      if (!isPermissionDenied(err)) return; // etcd down: the registry waits for it as well
      state.disable(err instanceof Error ? err.message : String(err));
      void state.watcher.stop();
      logger.warn({ prefix: state.prefix }, 'cannot read the control-plane state in etcd: grace periods and last good values stay in this process only');
      resolve();
    };
    state.watcher.on('failure', onFailure);
    state.watcher.ready().then(() => {
      state.watcher.off('failure', onFailure);
      resolve();
    }, () => resolve());
    state.watcher.start();
  });
}
