// `etcd-xds demo` (`npm run demo`): the docker-compose story without Docker, in one process. See docs/demo.md.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG_PREFIX } from '../config/config-watch.js';
import { runDemo } from '../demo/run-demo.js';
import { LOG_LEVELS } from '../logger.js';
import { endpointList, keyPrefix } from './etcd-flags.js';
import { hostPort, positiveInt } from './flags.js';

interface DemoFlags {
  duration?: number;
  rate: number;
  etcdEndpoints: string[];
  etcdBinary: string;
  prefix: string;
  configPrefix: string;
  xdsAddress: string;
  adminAddress: string;
  backends: number;
  drainSeconds: number;
  ttl: number;
  logFile?: string;
  logLevel: string;
}

const SECONDS_PER_UNIT: Record<string, number> = { s: 1, m: 60 };

/** `30`, `30s` or `2m`: whole seconds ≥ 1. */
function durationSeconds(value: string): number {
  const match = /^(\d+)(s|m)?$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * SECONDS_PER_UNIT[match[2] ?? 's']! : 0;
  if (seconds < 1) throw new InvalidArgumentError('expected a duration in seconds, e.g. 30, 30s or 2m');
  return seconds;
}

/** `50` or `50/s`. */
function callsPerSecond(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(value.trim());
  const rate = match ? Number(match[1]) : 0;
  if (!(rate > 0 && rate <= 5_000)) throw new InvalidArgumentError('expected calls per second, e.g. 50 or 50/s (at most 5000)');
  return rate;
}

function secondsAtLeastZero(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds ≥ 0');
  return n;
}

export function demoCommand(): Command {
  const command = new Command('demo')
    .description('run etcd (found or started), the control plane, gRPC backends and a proxyless gRPC client, and show the balancing and a canary split')
    .addOption(
      new Option('--duration <s>', 'run a scripted timeline (canary split at 1/6, its rollback at 1/2, a drain at 2/3, a kill at 5/6) and exit 0 after this long').argParser(
        durationSeconds,
      ),
    )
    .addOption(new Option('--rate <n/s>', 'calls per second the client sends').default(50).argParser(callsPerSecond))
    .addOption(
      new Option('--etcd-endpoints <urls>', 'etcd to use when it answers; otherwise an etcd is started here')
        .env('ETCD_ENDPOINTS')
        .default(['http://127.0.0.1:2379'], 'http://127.0.0.1:2379')
        .argParser(endpointList),
    )
    .option('--etcd-binary <path>', 'etcd binary to start when none answers at --etcd-endpoints', 'etcd')
    .addOption(new Option('--prefix <prefix>', 'etcd key prefix of registrations').default('/services/').argParser(keyPrefix))
    .addOption(
      new Option('--config-prefix <prefix>', 'etcd key prefix of configuration objects, where the canary policy is written').default(DEFAULT_CONFIG_PREFIX).argParser(keyPrefix),
    )
    .addOption(new Option('--xds-address <host:port>', 'xDS listen address (any free port when the default is taken)').default('127.0.0.1:18000').argParser(hostPort))
    .addOption(new Option('--admin-address <host:port>', 'admin HTTP listen address (any free port when the default is taken)').default('127.0.0.1:19000').argParser(hostPort))
    .addOption(new Option('--backends <n>', 'gRPC backends to start').default(3).argParser(positiveInt))
    .addOption(new Option('--drain-seconds <s>', 'how long a draining backend stays listed before its key is deleted').default(2).argParser(secondsAtLeastZero))
    .addOption(new Option('--ttl <s>', 'lease TTL of the backends: how long a killed one stays listed').default(3).argParser(positiveInt))
    .option('--log-file <path>', 'log file of the embedded components (default: demo.log in a temp dir)')
    .addOption(new Option('--log-level <level>', 'log level of the log file').default('info').choices(LOG_LEVELS));
  return command.action(async (flags: DemoFlags) => {
    const stop = new AbortController();
    const hurry = new AbortController();
    let stopping = false;
    // First signal: stop and clean up; next one (or the first during clean-up): skip the drain; then: exit now.
    const onSignal = (): void => {
      if (hurry.signal.aborted) process.exit(130);
      if (stopping || stop.signal.aborted) hurry.abort();
      else stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const interactive = flags.duration === undefined && process.stdin.isTTY === true;
    try {
      await runDemo({
        etcdEndpoints: flags.etcdEndpoints,
        etcdBinary: flags.etcdBinary,
        prefix: flags.prefix,
        xdsAddress: flags.xdsAddress,
        adminAddress: flags.adminAddress,
        freePortWhenBusy: {
          xds: command.getOptionValueSource('xdsAddress') === 'default',
          admin: command.getOptionValueSource('adminAddress') === 'default',
        },
        ...(flags.duration !== undefined && { durationSeconds: flags.duration }),
        ratePerSecond: flags.rate,
        backends: flags.backends,
        drainSeconds: flags.drainSeconds,
        ttlSeconds: flags.ttl,
        logLevel: flags.logLevel,
        ...(flags.logFile !== undefined && { logFile: flags.logFile }),
        ...(interactive && { keys: process.stdin }),
        configPrefix: flags.configPrefix,
        print: (line) => process.stdout.write(`${line}\n`),
        stop: stop.signal,
        hurry: hurry.signal,
        // In raw mode Ctrl-C is a key press that ends the demo; once raw mode is off, the next Ctrl-C hurries it.
        onStopping: () => {
          stopping = true;
        },
      });
    } catch (err) {
      process.stderr.write(`etcd-xds demo: ${(err as Error).message}\n`);
      process.exit(1);
    }
    process.exit(0);
  });
}
