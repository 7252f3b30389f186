// Wires the stages together: etcd → registry watcher → (health checker) → snapshot publisher → xDS server, with
// the admin API reading the same objects. `etcd-xds serve`, the demo and the end-to-end tests all start this.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { createAdminMetrics } from './admin/metrics.js';
import { ActionRefused } from './admin/actions.js';
import { startAdminServer, type AdminActions, type AdminServer } from './admin/server.js';
import { InstanceNotFoundError, operatorActions, type OperatorActions } from './registration/operator-drain.js';
import type { AdminState } from './admin/state.js';
import { HealthChecker } from './health/health-checker.js';
import type { Logger } from './logger.js';
import { createEtcdClient, type EtcdConnection } from './registry/etcd-client.js';
import { ConfigWatch, DEFAULT_CONFIG_PREFIX } from './config/config-watch.js';
import { RegistryStore } from './registry/store.js';
import { RegistryWatcher, type PrefixWatcher } from './registry/watcher.js';
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
  /** Most resource names one xDS request may carry; more is refused with INVALID_ARGUMENT. */
  maxResourceNames?: number;
  /** etcd prefix of the configuration objects (service policies, gateways); default `/etcd-xds/config/`. */
  configPrefix?: string;
  /** Port of an Envoy's default listener when its node metadata names none; default 10000. */
  envoyListenerPort?: number;
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
  readonly config: ConfigWatch;
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
  const configPrefix = options.configPrefix ?? DEFAULT_CONFIG_PREFIX;
  for (const other of [options.prefix, ...(statePrefix ? [statePrefix] : [])]) {
    if (configPrefix.startsWith(other) || other.startsWith(configPrefix)) {
      throw new Error(`the configuration prefix ${configPrefix} and the prefix ${other} must not contain each other`);
    }
  }
  const config = new ConfigWatch({ client, prefix: configPrefix, logger: logger.child({ component: 'config' }), ...(state ? { lastGood: state } : {}) });
  const publisher = new SnapshotPublisher({
    registry: () => watcher.view(),
    verdictOf: (key) => health?.verdict(key),
    logger: logger.child({ component: 'snapshot' }),
    ...(options.quietMs !== undefined ? { quietMs: options.quietMs } : {}),
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    serviceGcMs,
    ...(state ? { grace: state } : {}),
    config: () => config.view(),
    ...(options.envoyListenerPort ? { envoyListenerPort: options.envoyListenerPort } : {}),
  });
  const xds = new XdsServer({
    source: publisher,
    logger,
    ...(options.resourceTtlMs ? { resourceTtlMs: options.resourceTtlMs } : {}),
    ...(options.maxResourceNames ? { maxResourceNames: options.maxResourceNames } : {}),
  });

  let ready = false;
  watcher.on('change', ({ view, changedServices, changeSeenAt }) => {
    health?.update(view, changedServices);
    // The publisher holds changes until its first snapshot (built from the first full sync) is out.
    publisher.markChanged(changedServices, changeSeenAt);
  });
  watcher.on('state', ({ state, previous, reason }) => logger.info({ state, previous, reason }, 'etcd watch state'));
  state?.watcher.on('change', ({ changedServices, changeSeenAt }) => publisher.markChanged(changedServices, changeSeenAt));
  config.watcher.on('change', ({ changes }) => {
    if (changes.length > 0) publisher.configChanged(changes);
  });
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
    snapshot: (view) => publisher.current(view),
    config: () => config.view(),
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
    actions: adminActions(operatorActions(client, options.prefix)),
  });

  // The shared state is read before the registry and the configuration, so their first listings already know the
  // recorded last good values; the configuration is read before the first snapshot, which then carries every policy.
  const stateSynced = state
    ? syncOptional(state.watcher, (reason) => {
        state.disable(reason);
        logger.warn({ prefix: state.prefix, err: reason }, 'cannot read the control-plane state in etcd: grace periods and last good values stay in this process only');
      })
    : Promise.resolve();
  void stateSynced.then(() => watcher.start());
  logger.info({ endpoints: options.etcdEndpoints, prefix: options.prefix, statePrefix }, 'waiting for the first full etcd sync');
  // xDS listens only after the first full sync: answering a reconnecting Envoy from an empty registry would tell it
  // every cluster is gone.
  const configSynced = stateSynced.then(() =>
    syncOptional(config.watcher, (reason) =>
      logger.warn({ prefix: configPrefix, err: reason }, 'cannot read the configuration prefix in etcd: serving default policies only'),
    ),
  );
  const xdsReady = Promise.all([watcher.ready(), configSynced]).then(async () => {
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
    config,
    close: () =>
      (closing ??= (async () => {
        await xds.close(2_000);
        await admin.close();
        health?.stop();
        publisher.stop();
        await Promise.all([watcher.stop(), state?.watcher.stop(), config.watcher.stop()]);
        client.close();
      })()),
  };
}

/**
 * Resolves once an optional prefix (the control plane's state, the configuration) is listed, or at once when etcd
 * refuses to let us read it (auth without a role on it): `refused` then says what the control plane does instead.
 */
function syncOptional(watcher: PrefixWatcher<{ changeSeenAt: number }, unknown>, refused: (reason: string) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const onFailure = (err: unknown) => {
      if (!isPermissionDenied(err)) return; // etcd down: the registry waits for it as well
      void watcher.stop();
      refused(err instanceof Error ? err.message : String(err));
      resolve();
    };
    watcher.on('failure', onFailure);
    watcher.ready().then(() => {
      watcher.off('failure', onFailure);
      resolve();
    }, () => resolve());
    watcher.start();
  });
}

/** The admin API's drain/deregister actions on etcd; an unknown instance is the caller's 404. */
function adminActions(actions: OperatorActions): AdminActions {
  const refusing = async (run: () => Promise<unknown>): Promise<void> => {
    try {
      await run();
    } catch (err) {
      if (err instanceof InstanceNotFoundError) throw new ActionRefused(404, err.message);
      throw err;
    }
  };
  return {
    drain: (service, instanceId) => refusing(() => actions.drain(service, instanceId)),
    deregister: (service, instanceId, afterDrainSeconds) => refusing(() => actions.deregister(service, instanceId, afterDrainSeconds)),
  };
}
