// `etcd-xds serve`: the control plane, configured by flags or environment (DESIGN.md).
import { Command, Option } from 'commander';
import { NON_LOOPBACK_WITHOUT_TOKEN, isLoopbackHost, parseListenAddress } from '../admin/server.js';
import { startControlPlane } from '../control-plane.js';
import { LOG_LEVELS, createLogger } from '../logger.js';
import { addEtcdOptions, etcdConnection, type EtcdFlags } from './etcd-flags.js';
import { durationMs, hostPort, positiveInt } from './flags.js';

interface ServeFlags extends EtcdFlags {
  xdsTlsCert?: string;
  xdsTlsKey?: string;
  xdsTlsClientCa?: string;
  prefix: string;
  xdsAddress: string;
  adminAddress: string;
  adminToken?: string;
  logLevel: string;
  debounce: number;
  maxWait: number;
  serviceGc: number;
  healthChecks: boolean;
  healthConcurrency: number;
  resourceTtl: number;
  statePrefix?: string;
  sharedState: boolean;
}

export function serveCommand(): Command {
  const command = new Command('serve').description('run the control plane: watch etcd, serve xDS (ADS, SotW and delta) and the admin API');
  return addEtcdOptions(command)
    .addOption(new Option('--prefix <prefix>', 'etcd key prefix of registrations').env('XDS_PREFIX').default('/services/'))
    .addOption(new Option('--xds-address <host:port>', 'xDS gRPC listen address (port 0 = any free port)').env('XDS_ADDRESS').default('0.0.0.0:18000').argParser(hostPort))
    .addOption(new Option('--admin-address <host:port>', 'admin HTTP listen address').env('ADMIN_ADDRESS').default('127.0.0.1:19000').argParser(hostPort))
    .addOption(new Option('--admin-token <token>', 'Bearer token for the admin API (required off loopback)').env('ADMIN_TOKEN'))
    .addOption(new Option('--log-level <level>', 'log level').env('LOG_LEVEL').default('info').choices(LOG_LEVELS))
    .addOption(
      new Option('--debounce <duration>', 'an isolated change is published at once; changes arriving within this window of the last publish are batched until the window passes quietly')
        .default(10, '10ms')
        .argParser(durationMs),
    )
    .addOption(new Option('--max-wait <duration>', 'longest a change waits while a burst goes on').default(100, '100ms').argParser(durationMs))
    .addOption(new Option('--service-gc <duration>', 'how long a service without instances keeps its resources').default(600_000, '10m').argParser(durationMs))
    .addOption(new Option('--xds-tls-cert <file>', 'serve xDS over TLS with this certificate (with --xds-tls-key)').env('XDS_TLS_CERT'))
    .addOption(new Option('--xds-tls-key <file>', 'private key for --xds-tls-cert').env('XDS_TLS_KEY'))
    .addOption(new Option('--xds-tls-client-ca <file>', 'require client certificates signed by this CA (mTLS)').env('XDS_TLS_CLIENT_CA'))
    .addOption(
      new Option('--state-prefix <prefix>', "etcd prefix of the control plane's own state (grace periods, last good values), shared by replicas")
        .env('XDS_STATE_PREFIX'),
    )
    .option('--no-shared-state', 'keep grace periods and last good values in this process only (replicas and restarts may then disagree)')
    .option('--no-health-checks', 'disable active health checks')
    .addOption(new Option('--health-concurrency <n>', 'probes in flight at most').default(16).argParser(positiveInt))
    .addOption(
      new Option('--resource-ttl <duration>', 'resource TTL with heartbeats for clients announcing xds.config.supports-resource-ttl (0 = off)')
        .default(0, 'off')
        .argParser(durationMs),
    )
    .action(async (flags: ServeFlags) => {
      const logger = createLogger(flags.logLevel);
      const { endpoints, ...etcdAuth } = etcdConnection(flags);
      const plane = await startControlPlane({
        etcdEndpoints: [...endpoints],
        etcdAuth,
        ...(flags.xdsTlsCert && flags.xdsTlsKey
          ? { xdsTls: { certFile: flags.xdsTlsCert, keyFile: flags.xdsTlsKey, ...(flags.xdsTlsClientCa ? { clientCaFile: flags.xdsTlsClientCa } : {}) } }
          : {}),
        prefix: flags.prefix,
        xdsAddress: flags.xdsAddress,
        adminAddress: flags.adminAddress,
        ...(flags.adminToken ? { adminToken: flags.adminToken } : {}),
        logger,
        quietMs: flags.debounce,
        maxWaitMs: flags.maxWait,
        serviceGcMs: flags.serviceGc,
        ...(flags.sharedState === false ? { statePrefix: false as const } : flags.statePrefix ? { statePrefix: flags.statePrefix } : {}),
        healthChecks: flags.healthChecks,
        healthConcurrency: flags.healthConcurrency,
        resourceTtlMs: flags.resourceTtl,
      });
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        plane.close().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      // A signal before the first etcd sync ends the wait on purpose: not an error.
      await plane.xdsReady.catch((err: unknown) => {
        if (!stopping) throw err;
      });
    });
}


/** Flag combinations of `serve` that are usage errors (checked before the command runs). */
export function adminFlagsProblem(flags: Partial<ServeFlags>): string | undefined {
  if (Boolean(flags.xdsTlsCert) !== Boolean(flags.xdsTlsKey)) return '--xds-tls-cert and --xds-tls-key go together';
  if (flags.xdsTlsClientCa && !flags.xdsTlsCert) return '--xds-tls-client-ca needs --xds-tls-cert and --xds-tls-key';
  if (flags.adminAddress && !flags.adminToken && !isLoopbackHost(parseListenAddress(flags.adminAddress).host)) {
    return NON_LOOPBACK_WITHOUT_TOKEN;
  }
  return undefined;
}
