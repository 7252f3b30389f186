// `etcd-xds demo` without Docker: etcd (found or spawned), the control plane in-process, Greeter backends that
// register themselves (one of them the v2 canary), and a proxyless gRPC client whose per-second spread shows
// balancing, a 90/10 canary split applied with `etcd-xds config apply` and rolled back, a drain and a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { ControlPlane } from '../control-plane.js';
import type { Logger } from '../logger.js';
import { CallTally, elapsedLabel } from './call-tally.js';
import { CANARY_FILE, CanaryCommands, describeSplit, readCanaryPlan, splitOf } from './canary.js';
import { displayPath, thisCli, type CliCommand } from './cli-command.js';
import {
  DEMO_SERVICE,
  printHints,
  startClientStep,
  startControlPlaneStep,
  startEtcdStep,
  startFleetStep,
  StopRequested,
  Teardown,
  unlessStopped,
  withTimeout,
  type StepContext,
} from './demo-steps.js';
import { playStory } from './demo-story.js';
import { describeStateChanges, instanceStates, type InstanceStates } from './registry-story.js';

export { DEMO_SERVICE };

export interface DemoOptions {
  etcdEndpoints: string[];
  /** The etcd binary to start when no etcd answers at etcdEndpoints (default `etcd` on PATH). */
  etcdBinary?: string;
  prefix: string;
  /** etcd prefix of the configuration objects the control plane reads and the canary is written under. */
  configPrefix: string;
  xdsAddress: string;
  adminAddress: string;
  /** Take any free port when these addresses are busy (they are defaults, not what the user asked for). */
  freePortWhenBusy: { xds: boolean; admin: boolean };
  /** Run the scripted timeline and end after this many seconds; undefined = until stopped. */
  durationSeconds?: number;
  ratePerSecond: number;
  backends: number;
  drainSeconds: number;
  /** Lease TTL of the backends: how long a killed one stays listed. */
  ttlSeconds: number;
  logLevel: string;
  /** Where the embedded components log; default demo.log in a fresh temp dir. */
  logFile?: string;
  /** A TTY to read key presses from instead of following the timeline (only without a duration). */
  keys?: NodeJS.ReadStream;
  /** How to run the etcd-xds CLI, for the commands the demo runs and suggests (default: this process's own). */
  cli?: CliCommand;
  /** The canary's ServicePolicy file (default demo/canary.yaml of the package). */
  canaryFile?: string;
  print(line: string): void;
  /** Aborting ends the demo: the backends drain, the control plane closes, a spawned etcd stops. */
  stop: AbortSignal;
  /** Aborting during clean-up deregisters the backends at once instead of waiting for their drain. */
  hurry: AbortSignal;
  /** Called when the clean-up begins, however the demo ended (timeline, key, stop signal or error). */
  onStopping?: () => void;
}

function fileLogger(file: string, level: string): Logger {
  return pino({ name: 'etcd-xds-demo', level }, pino.destination({ dest: file, sync: true, mkdir: true }));
}

/**
 * Narrates what the control plane sees change in etcd for the demo's service, once `telling()` says so: its
 * instances, and its ServicePolicy (the canary's split).
 */
function narrateEtcd(plane: ControlPlane, telling: () => boolean, say: (line: string) => void): void {
  let states: InstanceStates = instanceStates(plane.watcher.view(), DEMO_SERVICE);
  plane.watcher.on('change', ({ view }) => {
    const next = instanceStates(view, DEMO_SERVICE);
    const lines = describeStateChanges(states, next);
    states = next;
    if (telling()) for (const line of lines) say(`   etcd: ${line}`);
  });
  plane.config.watcher.on('change', ({ changes, view }) => {
    if (!telling() || !changes.some((c) => c.kind === 'ServicePolicy' && c.name === DEMO_SERVICE)) return;
    const policy = view.policies.get(DEMO_SERVICE);
    const split = splitOf(DEMO_SERVICE, policy?.spec);
    const rejected = [...view.rejected.values()].find((r) => r.kind === 'ServicePolicy' && r.name === DEMO_SERVICE);
    if (rejected) say(`   etcd: ServicePolicy ${DEMO_SERVICE} rejected (${rejected.reason})${policy ? ', the last good one keeps serving' : ''}`);
    else if (!policy) say(`   etcd: ServicePolicy ${DEMO_SERVICE} deleted`);
    else say(`   etcd: ServicePolicy ${DEMO_SERVICE} ${split ? `splits ${describeSplit(split)}` : 'written, with no split'}`);
  });
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-demo-'));
  const logFile = options.logFile ?? path.join(workDir, 'demo.log');
  const logger = fileLogger(logFile, options.logLevel);
  let startedAt: number | undefined;
  const say = (line: string): void =>
    options.print(startedAt === undefined ? line : `${elapsedLabel((Date.now() - startedAt) / 1000)} ${line}`);
  const teardown = new Teardown();
  const context: StepContext = { logger, teardown, stop: options.stop, say };

  try {
    say(`etcd-xds demo: ${options.backends} gRPC backends of "${DEMO_SERVICE}", one proxyless gRPC client, etcd-xds in between`);
    // Read before anything starts: a canary file that does not validate ends the demo at once, saying why.
    const canaryFile = displayPath(options.canaryFile ?? CANARY_FILE);
    const plan = readCanaryPlan(canaryFile, DEMO_SERVICE);
    const etcd = await startEtcdStep(context, options.etcdEndpoints, options.etcdBinary);
    const { plane, xdsAddress, adminUrl } = await startControlPlaneStep(context, { ...options, etcdEndpoints: etcd.endpoints });
    narrateEtcd(plane, () => startedAt !== undefined, say);
    const cli = options.cli ?? thisCli();
    const canary = new CanaryCommands({ cli, file: canaryFile, service: DEMO_SERVICE, etcdEndpoint: etcd.endpoints[0]!, configPrefix: options.configPrefix, say });
    // After the backends have drained and before the control plane closes: a split left in etcd is deleted.
    teardown.add('canary policy', async () => {
      if (await canary.removeLeftover()) say(`the canary policy this demo applied is deleted from etcd`);
    });
    const fleet = await startFleetStep(context, { ...options, etcdEndpoints: etcd.endpoints });
    const tally = new CallTally();
    const { traffic } = await startClientStep(context, { workDir, xdsAddress, ratePerSecond: options.ratePerSecond, tally });
    say(`  logs           ${logFile}`);
    printHints(say, {
      cli: cli.display,
      adminUrl,
      adminAddress: plane.adminAddress,
      etcdEndpoint: etcd.endpoints[0]!,
      prefix: options.prefix,
      configPrefix: options.configPrefix,
      canaryFile,
    });

    const firstAnswer = await unlessStopped(options.stop, withTimeout(traffic.firstAnswer, 20_000, 'the proxyless client got no answer within 20 s (see the log file)'));
    startedAt = Date.now();
    tally.take();
    say(`first answer from ${firstAnswer}: the client resolved xds:///${DEMO_SERVICE} through etcd-xds`);
    await playStory({
      fleet,
      tally,
      canary,
      plan,
      startedAt,
      ...(options.durationSeconds !== undefined && { durationSeconds: options.durationSeconds }),
      ...(options.keys && { keys: options.keys }),
      drainSeconds: options.drainSeconds,
      ttlSeconds: options.ttlSeconds,
      stop: options.stop,
      print: options.print,
      say,
    });
    say('stopping');
  } catch (err) {
    if (!(err instanceof StopRequested)) throw err;
    say('stopping');
  } finally {
    options.onStopping?.();
    await teardown.run(say);
    say(`logs of the embedded components: ${logFile}`);
    logger.flush();
    // The temp dir holds the bootstrap and, by default, the log, which stays for reading after the demo.
    if (path.dirname(path.resolve(logFile)) !== workDir) rmSync(workDir, { recursive: true, force: true });
  }
}
