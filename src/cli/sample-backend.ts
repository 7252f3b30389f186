// `etcd-xds sample-backend`: an HTTP or gRPC (Greeter) service that registers itself in etcd through the SDK, for
// the docker-compose demo and for trying etcd-xds by hand. SIGTERM/SIGINT drains it, stops it, and exits 0.
import net from 'node:net';
import { Command, InvalidArgumentError, Option } from 'commander';
import { addEtcdOptions, etcdConnection, prefixOption, type EtcdFlags } from './etcd-flags.js';
import { addLogOptions, loggerFromFlags, type LogFlags } from './log-flags.js';
import { startSampleBackend, type SampleBackend, type SampleBackendKind } from '../demo/sample-backend.js';
import { SERVICE_NAME_RULE, isValidServiceName } from '../registry/parse.js';
import { handleStopSignals } from './stop-signals.js';
import { positiveInt } from './flags.js';

interface SampleBackendFlags extends EtcdFlags, LogFlags {
  kind: SampleBackendKind;
  service: string;
  port: number;
  instanceId?: string;
  address: string;
  host?: string;
  prefix: string;
  drainSeconds: number;
  ttl: number;
  zone?: string;
}

function portOrZero(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65535) throw new InvalidArgumentError('expected a port 0–65535 (0 = any free port)');
  return port;
}

function serviceName(value: string): string {
  if (!isValidServiceName(value)) throw new InvalidArgumentError(`expected ${SERVICE_NAME_RULE}`);
  return value;
}

function addressFlag(value: string): string {
  if (value !== 'auto' && net.isIP(value) === 0) throw new InvalidArgumentError("expected 'auto' or an IPv4/IPv6 literal (Envoy rejects hostnames)");
  return value;
}

function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds ≥ 0');
  return n;
}

export function sampleBackendCommand(): Command {
  const command = new Command('sample-backend');
  addLogOptions(addEtcdOptions(command));
  return command
    .description('run a sample HTTP or gRPC (etcdxds.v1.Greeter) backend that registers itself in etcd; SIGTERM drains it')
    .addOption(new Option('--kind <kind>', 'http: JSON naming service, instance and path (/healthz too); grpc: Greeter + grpc.health.v1').choices(['http', 'grpc']).makeOptionMandatory())
    .addOption(new Option('--service <name>', 'service name to register under').argParser(serviceName).makeOptionMandatory())
    .addOption(new Option('--port <port>', 'port to listen on (0 = any free port)').argParser(portOrZero).makeOptionMandatory())
    .option('--instance-id <id>', 'instance id (default <hostname>-<address>-<port>)')
    .addOption(new Option('--address <ip>', "address to register: 'auto' (detected) or an IPv4/IPv6 literal").default('auto').argParser(addressFlag))
    .addOption(new Option('--host <ip>', 'address to listen on (default 0.0.0.0, or :: for an IPv6 --address)').argParser(addressFlag))
    .addOption(prefixOption('etcd key prefix of registrations'))
    .addOption(new Option('--drain-seconds <s>', 'how long to stay listed as draining after SIGTERM before deregistering').default(5).argParser(seconds))
    .addOption(new Option('--ttl <s>', 'lease TTL: how long the key outlives a crash').default(10).argParser(positiveInt))
    .option('--zone <zone>', 'locality zone to register')
    .action(async (flags: SampleBackendFlags) => {
      await runSampleBackend(flags);
    });
}

/** Starts, registers, then waits for SIGINT/SIGTERM: the first drains, a second one deregisters at once. */
async function runSampleBackend(flags: SampleBackendFlags): Promise<void> {
  const logger = loggerFromFlags(flags, 'etcd-xds-sample-backend');
  const signals = handleStopSignals(logger, 'backend');
  let backend: SampleBackend;
  try {
    backend = await startSampleBackend({
      kind: flags.kind,
      service: flags.service,
      port: flags.port,
      address: flags.address,
      ...(flags.host !== undefined && { host: flags.host }),
      ...(flags.instanceId !== undefined && { instanceId: flags.instanceId }),
      etcd: etcdConnection(flags),
      prefix: flags.prefix,
      drainSeconds: flags.drainSeconds,
      ttlSeconds: flags.ttl,
      ...(flags.zone !== undefined && { zone: flags.zone }),
      logger,
      signal: signals.startup,
    });
  } catch (err) {
    if (signals.startup.aborted) process.exit(0);
    process.stderr.write(`etcd-xds sample-backend: ${(err as Error).message}\n`);
    process.exit(1);
  }
  signals.started({ drain: () => backend.drain(), stopNow: () => backend.stop() });
  process.stdout.write(
    `sample-backend ${backend.kind} ${backend.service}/${backend.instanceId} listening on port ${backend.port}, ` +
      `registered as ${backend.key} (${backend.address}:${backend.port})\n`,
  );
  await signals.stopped;
  process.exit(0);
}
