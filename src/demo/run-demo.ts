// `etcd-xds demo` without Docker: etcd (found or spawned), the control plane in-process, Greeter backends that
// register themselves, and a proxyless gRPC client whose per-second spread shows balancing, a drain and a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startControlPlane } from '../control-plane.js';
import type { Logger } from '../logger.js';
import { CallTally, elapsedLabel, formatSpreadLine } from './call-tally.js';
import { KEY_HELP, readKeyMoves, scriptedTimeline, type DemoMove } from './demo-controls.js';
import { GreeterFleet } from './greeter-fleet.js';
import { useOrSpawnEtcd } from './local-etcd.js';
import { describeStateChanges, instanceStates, type InstanceStates } from './registry-story.js';
import { enableXdsResolver, startTraffic, writeBootstrap } from './traffic.js';

export const DEMO_SERVICE = 'greeter-grpc';

export interface DemoOptions {
  etcdEndpoints: string[];
  /** The etcd binary to start when no etcd answers at etcdEndpoints (default `etcd` on PATH). */
  etcdBinary?: string;
  prefix: string;
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
  /** How to run the etcd-xds CLI, for the commands the demo suggests (default `etcd-xds`). */
  selfCommand?: string;
  print(line: string): void;
  /** Aborting ends the demo: the backends drain, the control plane closes, a spawned etcd stops. */
  stop: AbortSignal;
  /** Aborting during clean-up deregisters the backends at once instead of waiting for their drain. */
  hurry: AbortSignal;
  /** Called when the clean-up begins, however the demo ended (timeline, key, stop signal or error). */
  onStopping?: () => void;
}

class StopRequested extends Error {}

/** Resolves like `promise`, or rejects with StopRequested as soon as `signal` aborts. */
function unlessStopped<T>(signal: AbortSignal, promise: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(new StopRequested());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new StopRequested());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(what)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** `address` when it can be bound, else the same host with port 0 when allowed. */
async function bindableAddress(address: string, fallBack: boolean): Promise<string> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (!fallBack || port === 0) return address;
  const free = await new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
  return free ? address : `${address.slice(0, colon)}:0`;
}

function fileLogger(file: string, level: string): Logger {
  return pino({ name: 'etcd-xds-demo', level }, pino.destination({ dest: file, sync: true, mkdir: true }));
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-demo-'));
  const logFile = options.logFile ?? path.join(workDir, 'demo.log');
  const logger = fileLogger(logFile, options.logLevel);
  let startedAt: number | undefined;
  const say = (line: string): void =>
    options.print(startedAt === undefined ? line : `${elapsedLabel((Date.now() - startedAt) / 1000)} ${line}`);
  const cleanups: { what: string; run: () => Promise<void> }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopKeys: (() => void) | undefined;

  try {
    say(`etcd-xds demo: ${options.backends} gRPC backends of "${DEMO_SERVICE}", one proxyless gRPC client, etcd-xds in between`);
    // Each clean-up is registered before its start is awaited, so a stop mid-start still undoes that start.
    const etcdStarting = useOrSpawnEtcd(options.etcdEndpoints, options.etcdBinary ? { binary: options.etcdBinary } : {});
    cleanups.push({
      what: 'etcd',
      run: async () => {
        const started = await etcdStarting.catch(() => undefined);
        if (!started?.spawned) return;
        await started.stop();
        say('etcd stopped, its data dir removed');
      },
    });
    const etcd = await unlessStopped(options.stop, etcdStarting);
    const etcdNote = etcd.spawned ? `etcd ${etcd.version} started here, stopped and removed on exit` : 'already running';
    say(`  etcd           ${etcd.endpoints.join(', ')} (${etcdNote})`);

    const plane = await startControlPlane({
      etcdEndpoints: etcd.endpoints,
      prefix: options.prefix,
      xdsAddress: await bindableAddress(options.xdsAddress, options.freePortWhenBusy.xds),
      adminAddress: await bindableAddress(options.adminAddress, options.freePortWhenBusy.admin),
      logger,
    });
    cleanups.push({
      what: 'control plane',
      run: async () => {
        await plane.close();
        say('control plane closed');
      },
    });
    const xdsAddress = await unlessStopped(options.stop, plane.xdsReady);
    const adminUrl = `http://${plane.adminAddress}/`;
    say(`  control plane  xDS ${xdsAddress} · admin ${adminUrl}`);

    // What the control plane sees in etcd for the service, narrated once the story runs.
    let states: InstanceStates = instanceStates(plane.watcher.view(), DEMO_SERVICE);
    plane.watcher.on('change', ({ view }) => {
      const next = instanceStates(view, DEMO_SERVICE);
      const lines = describeStateChanges(states, next);
      states = next;
      if (startedAt !== undefined) for (const line of lines) say(`   etcd: ${line}`);
    });

    const fleetStarting = GreeterFleet.start({
      service: DEMO_SERVICE,
      count: options.backends,
      etcdEndpoints: etcd.endpoints,
      prefix: options.prefix,
      drainSeconds: options.drainSeconds,
      ttlSeconds: options.ttlSeconds,
      logger,
    });
    cleanups.push({
      what: 'backends',
      run: async () => {
        const fleet = await fleetStarting.catch(() => undefined);
        if (!fleet) return;
        const running = fleet.serving().map((b) => b.instanceId);
        if (running.length > 0 && !options.hurry.aborted) say(`draining ${running.join(', ')} (${options.drainSeconds} s; Ctrl-C skips the wait)`);
        const onHurry = (): void => void fleet.stopAll();
        options.hurry.addEventListener('abort', onHurry, { once: true });
        await (options.hurry.aborted ? fleet.stopAll() : fleet.drainAll());
        options.hurry.removeEventListener('abort', onHurry);
        say('backends deregistered and stopped');
      },
    });
    const fleet = await unlessStopped(options.stop, fleetStarting);
    const backendList = fleet.all().map((b) => `${b.instanceId} ${b.address}:${b.port}`).join(' · ');
    say(`  backends       ${backendList} (registered by the SDK under ${options.prefix}${DEMO_SERVICE}/)`);

    const bootstrap = writeBootstrap(workDir, xdsAddress, `etcd-xds-demo-${process.pid}`);
    await enableXdsResolver(bootstrap);
    const tally = new CallTally();
    const traffic = startTraffic({
      target: `xds:///${DEMO_SERVICE}`,
      ratePerSecond: options.ratePerSecond,
      onAnswer: (id) => tally.answered(id),
      onError: (message) => tally.failed(message),
    });
    cleanups.push({
      what: 'client',
      run: async () => {
        await traffic.stop();
        say('client closed');
      },
    });
    say(`  client         xds:///${DEMO_SERVICE} via @grpc/grpc-js-xds, ${options.ratePerSecond} calls/s (bootstrap ${bootstrap})`);
    say(`  logs           ${logFile}`);
    const cli = options.selfCommand ?? 'etcd-xds';
    say('Try, in another terminal:');
    say(`  open ${adminUrl}   the admin page: services, instances, connected xDS clients`);
    say(`  curl -s ${adminUrl}debug/services   what the control plane publishes from etcd`);
    say(`  ${cli} clients --admin ${plane.adminAddress}   this client's xDS stream, versions and sync status`);
    say(
      `  ${cli} sample-backend --kind grpc --service ${DEMO_SERVICE} --port 0 --address 127.0.0.1 ` +
        `--instance-id mine --etcd-endpoints ${etcd.endpoints[0]}${options.prefix === '/services/' ? '' : ` --prefix ${options.prefix}`}   a backend of your own joins`,
    );

    const firstAnswer = await unlessStopped(options.stop, withTimeout(traffic.firstAnswer, 20_000, 'the proxyless client got no answer within 20 s (see the log file)'));
    startedAt = Date.now();
    tally.take();
    const steps = options.keys ? [] : scriptedTimeline(options.durationSeconds);
    say(`first answer from ${firstAnswer}: the client resolved xds:///${DEMO_SERVICE} through etcd-xds`);
    if (options.keys) say(KEY_HELP);
    else {
      const plan = steps.map((s) => (s.move === 'quit' ? `end at ${s.atSeconds} s` : `${s.move} one backend at ${s.atSeconds} s`));
      say(`timeline: ${plan.join(', ')}${options.durationSeconds === undefined ? ', then run until Ctrl-C' : ''}`);
    }

    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const onStop = (): void => finish();
    options.stop.addEventListener('abort', onStop, { once: true });
    if (options.stop.aborted) finish();

    const perform = (move: DemoMove): void => {
      if (move === 'quit') return finish();
      if (move === 'add') {
        void fleet.add().then(
          (b) => say(`>> started ${b.instanceId} on ${b.address}:${b.port}: it registers itself; clients add it when etcd-xds pushes the new endpoints`),
          (err: Error) => say(`>> could not start a backend: ${err.message}`),
        );
        return;
      }
      const serving = fleet.serving();
      if (move === 'drain') {
        const drained = fleet.drainOne();
        if (!drained) return say(`>> not draining ${serving[0]?.instanceId ?? 'anything'}: keeping the last serving backend`);
        const id = drained.backend.instanceId;
        say(`>> draining ${id}: the SDK marks it "draining" in etcd, clients stop sending it new calls, its key goes in ${options.drainSeconds} s`);
        void drained.done.then(() => say(`   ${id} drained: key deleted, server stopped`));
        return;
      }
      const killed = fleet.killOne();
      if (!killed) return say(`>> not killing ${serving[0]?.instanceId ?? 'anything'}: keeping the last serving backend`);
      say(
        `>> killing ${killed.instanceId} (a crash): its connections drop, so clients route around it at once; ` +
          `etcd deletes its key when its ${options.ttlSeconds} s lease expires`,
      );
    };

    // One line per second, aimed at whole seconds since the first answer so the lines do not drift.
    let second = 1;
    const nextTick = (): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        options.print(formatSpreadLine(second, orderedIds(fleet.all().map((b) => b.instanceId), tally.instances()), tally.take()));
        second += 1;
        nextTick();
      }, startedAt! + second * 1000 - Date.now());
      timers.add(timer);
    };
    nextTick();
    // A little after the second's line, so a move is printed below the line it follows.
    for (const step of steps) {
      const timer = setTimeout(() => perform(step.move), startedAt + step.atSeconds * 1000 + 50 - Date.now());
      timers.add(timer);
    }
    if (options.keys) stopKeys = readKeyMoves(options.keys, perform);

    await finished;
    options.stop.removeEventListener('abort', onStop);
    say('stopping');
  } catch (err) {
    if (!(err instanceof StopRequested)) throw err;
    say('stopping');
  } finally {
    options.onStopping?.();
    stopKeys?.();
    for (const timer of timers) clearTimeout(timer);
    for (const cleanup of cleanups.reverse()) {
      await cleanup.run().catch((err: Error) => say(`clean-up of the ${cleanup.what} failed: ${err.message}`));
    }
    say(`logs of the embedded components: ${logFile}`);
    logger.flush();
    // The temp dir holds the bootstrap and, by default, the log, which stays for reading after the demo.
    if (path.dirname(path.resolve(logFile)) !== workDir) rmSync(workDir, { recursive: true, force: true });
  }
}

/** The fleet's ids first (start order), then any other instance that answered (say, one started by hand). */
function orderedIds(fleetIds: readonly string[], seen: readonly string[]): string[] {
  return [...fleetIds, ...seen.filter((id) => !fleetIds.includes(id))];
}
