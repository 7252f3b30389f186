// `etcd-xds register`: registers one instance through the SDK, stays alive, and on SIGINT/SIGTERM drains and
// deregisters before exiting 0. Flag errors exit 2 with a message naming the flag.
import net from 'node:net';
import { Command } from 'commander';
import { LOG_LEVELS, createLogger } from '../logger.js';
import { parseCidr } from '../registration/address.js';
import { register, type RegisterOptions, type Registration } from '../registration/register.js';
import type { HealthCheckSpec, Locality } from '../registry/types.js';
import { addEtcdOptions, etcdConnection, prefixOption, type EtcdFlags } from './etcd-flags.js';
import { addLogOptions, type LogFlags } from './log-flags.js';
import { SERVICE_NAME_RULE, isValidServiceName } from '../registry/parse.js';
import { MAX_PRIORITY, MAX_WEIGHT } from '../registry/registration-rules.js';
import { handleStopSignals } from './stop-signals.js';


/** What commander hands the action: raw strings, checked by parseRegisterFlags. */
export interface RegisterFlags extends EtcdFlags, Partial<LogFlags> {
  service: string;
  port: string;
  address: string;
  interface?: string;
  cidr?: string;
  ipv6?: boolean;
  ttl: string;
  weight?: string;
  region?: string;
  zone?: string;
  subZone?: string;
  priority?: string;
  metadata: string[];
  drainSeconds: string;
  instanceId?: string;
  healthCheck?: string;
  prefix: string;
  logLevel: string;
  waitForPort: boolean;
}

function integerFlag(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new Error(`${flag} must be an integer ${range} (got '${text}')`);
  }
  return value;
}

function parseMetadata(entries: string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new Error(`--metadata must look like key=value (got '${entry}')`);
    metadata[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return metadata;
}

/** `tcp`, `http`, `http:/path`, `grpc` or `grpc:service`. */
export function parseHealthCheckFlag(text: string): HealthCheckSpec {
  const colon = text.indexOf(':');
  const type = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? undefined : text.slice(colon + 1);
  if (type === 'tcp' && arg === undefined) return { type: 'tcp' };
  if (type === 'http' && (arg === undefined || arg.startsWith('/'))) return arg ? { type: 'http', path: arg } : { type: 'http' };
  if (type === 'grpc') return arg ? { type: 'grpc', service: arg } : { type: 'grpc' };
  throw new Error(`--health-check must be tcp, http, http:/path, grpc or grpc:service (got '${text}')`);
}

/** Turns the raw flags into SDK options, or throws an Error whose message names the bad flag. */
export function parseRegisterFlags(flags: RegisterFlags): RegisterOptions {
  if (!isValidServiceName(flags.service)) {
    throw new Error(`--service must be ${SERVICE_NAME_RULE} (got '${flags.service}')`);
  }
  const address = flags.address.trim();
  if (address !== 'auto' && net.isIP(address) === 0) {
    throw new Error(`--address must be 'auto' or an IPv4/IPv6 literal; Envoy rejects hostnames (got '${flags.address}')`);
  }
  if (address !== 'auto' && (flags.interface !== undefined || flags.cidr !== undefined || flags.ipv6)) {
    throw new Error('--interface, --cidr and --ipv6 choose the address, so they only apply with --address auto');
  }
  if (flags.cidr !== undefined) parseCidr(flags.cidr);
  if (!LOG_LEVELS.includes(flags.logLevel)) {
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got '${flags.logLevel}')`);
  }
  const drainSeconds = Number(flags.drainSeconds);
  if (!Number.isFinite(drainSeconds) || drainSeconds < 0 || flags.drainSeconds.trim() === '') {
    throw new Error(`--drain-seconds must be a number ≥ 0 (got '${flags.drainSeconds}')`);
  }
  if (flags.instanceId !== undefined && flags.instanceId === '') throw new Error('--instance-id must not be empty');

  const locality: Locality = {};
  if (flags.region) locality.region = flags.region;
  if (flags.zone) locality.zone = flags.zone;
  if (flags.subZone) locality.subZone = flags.subZone;
  const options: RegisterOptions = {
    service: flags.service,
    port: integerFlag('--port', flags.port, 1, 65535),
    address,
    ttlSeconds: integerFlag('--ttl', flags.ttl, 1),
    locality,
    metadata: parseMetadata(flags.metadata),
    drainSeconds,
    prefix: flags.prefix,
    etcd: etcdConnection(flags),
    waitForPortMs: flags.waitForPort ? 30_000 : 0,
  };
  if (flags.interface !== undefined) options.interface = flags.interface;
  if (flags.cidr !== undefined) options.cidr = flags.cidr;
  if (flags.ipv6) options.family = 6;
  if (flags.weight !== undefined) options.weight = integerFlag('--weight', flags.weight, 0, MAX_WEIGHT);
  if (flags.priority !== undefined) options.priority = integerFlag('--priority', flags.priority, 0, MAX_PRIORITY);
  if (flags.instanceId !== undefined) options.instanceId = flags.instanceId;
  if (flags.healthCheck !== undefined) options.healthCheck = parseHealthCheckFlag(flags.healthCheck);
  return options;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerCommand(): Command {
  const command = new Command('register')
    .description('register one service instance in etcd and keep it registered until SIGINT/SIGTERM (then drain)')
    .requiredOption('--service <name>', 'service name')
    .requiredOption('--port <port>', 'port the instance serves on (1-65535)');
  addLogOptions(addEtcdOptions(command))
    .option('--address <ip>', "'auto' (detect from network interfaces) or an IPv4/IPv6 literal", 'auto')
    .option('--interface <name>', "network interface for --address auto, e.g. 'eth0'")
    .option('--cidr <cidr>', 'network the detected address must lie in, e.g. 10.0.0.0/8')
    .option('--ipv6', 'detect an IPv6 address instead of IPv4')
    .option('--ttl <seconds>', 'lease TTL: how long a crashed instance stays listed', '10')
    .option('--weight <n>', 'load-balancing weight (0 = draining)')
    .option('--region <region>', 'locality region')
    .option('--zone <zone>', 'locality zone')
    .option('--sub-zone <subZone>', 'locality sub-zone')
    .option('--priority <n>', 'priority level 0-127 (0 = highest)')
    .option('--metadata <key=value>', 'endpoint metadata (repeatable)', collect, [])
    .option('--drain-seconds <seconds>', 'how long to stay listed as draining before deregistering', '5')
    .option('--instance-id <id>', 'instance id (default <hostname>-<address>-<port>)')
    .option('--health-check <spec>', 'health check the control plane runs: tcp | http[:/path] | grpc[:service]')
    .addOption(prefixOption('etcd key prefix'))
    .option('--no-wait-for-port', 'register at once instead of waiting (up to 30 s) for the port to accept connections')
    .action(async (flags: RegisterFlags) => {
      let options: RegisterOptions;
      try {
        options = parseRegisterFlags(flags);
      } catch (err) {
        return command.error(`error: ${(err as Error).message}`, { exitCode: 2, code: 'etcd-xds.invalidFlag' });
      }
      await runRegistration(options, flags);
    });
  return command;
}

/** Lines for the person who started `register`, beside the JSON log: what happened to the registration. */
function narrate(registration: Registration, drainSeconds: number, say: (line: string) => void): void {
  const where = `${registration.instance.address}:${registration.instance.port}`;
  registration.on('registered', ({ leaseId, again }) =>
    say(again ? `re-registered ${registration.key} under a new lease ${leaseId}` : `registered ${registration.key} (${where}) under lease ${leaseId}`),
  );
  registration.on('lost', ({ leaseId, error }) => say(`lease ${leaseId} lost (${error.message}); registering again`));
  registration.on('draining', ({ by }) =>
    say(
      by === 'operator'
        ? `an operator marked ${registration.key} draining: it stays draining (stop this process to deregister)`
        : `draining: listed as draining for ${drainSeconds} s, then deregistered (send the signal again to skip the wait)`,
    ),
  );
  registration.on('deregistered', ({ by }) => {
    if (by === 'instance') return say(`deregistered ${registration.key} (key deleted, lease revoked)`);
    say(`an operator deregistered ${registration.key}: it stays deregistered until this process restarts (stop it with Ctrl-C or SIGTERM)`);
    // Nothing else keeps the process alive now; exiting would let a supervisor restart it and register it again.
    setInterval(() => {}, 3_600_000);
  });
}

/** Registers, then waits for SIGINT/SIGTERM: the first drains, a second one deregisters at once. */
async function runRegistration(options: RegisterOptions, flags: RegisterFlags): Promise<void> {
  const logger = createLogger(flags.logLevel, 'etcd-xds-register', flags.logFormat ?? 'auto');
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const signals = handleStopSignals(logger, 'instance');
  let registration: Registration;
  try {
    registration = await register({ ...options, logger, signal: signals.startup });
  } catch (err) {
    if (signals.startup.aborted) {
      say('stopped before the instance was registered: nothing to deregister');
      process.exit(0);
    }
    process.stderr.write(`etcd-xds register: ${(err as Error).message}\n`);
    process.exit(1);
  }
  // register() resolved: the key is written; later events are narrated as they come.
  say(`registered ${registration.key} (${registration.instance.address}:${registration.instance.port}) under lease ${registration.leaseId() ?? '?'}; stop with Ctrl-C or SIGTERM`);
  narrate(registration, options.drainSeconds ?? 5, say);
  signals.started({ drain: () => registration.drain(), stopNow: () => registration.deregister() });
  await signals.stopped;
  process.exit(0);
}
