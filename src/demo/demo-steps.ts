// The demo's start-up, one step per component (etcd, control plane, backends, client), and the teardown that undoes
// them in reverse order: client, backends (drain, then deregister), control plane, and etcd last, so every
// deregistration still reaches etcd. Each closing line says what really happened.
import net from 'node:net';
import { startControlPlane, type ControlPlane } from '../control-plane.js';
import type { Logger } from '../logger.js';
import { grpcBootstrap } from '../cli/bootstrap-documents.js';
import { shellWord } from '../cli/shell-words.js';
import { DEFAULT_CONFIG_PREFIX } from '../config/config-watch.js';
import { GreeterFleet, VERSION_KEY } from './greeter-fleet.js';
import { useOrSpawnEtcd, type DemoEtcd } from './local-etcd.js';
import { enableXdsResolver, startTraffic, writeBootstrapFile, type Traffic } from './traffic.js';
import type { CallTally } from './call-tally.js';

export const DEMO_SERVICE = 'greeter-grpc';

export class StopRequested extends Error {}

/** Resolves like `promise`, or rejects with StopRequested as soon as `signal` aborts. */
export function unlessStopped<T>(signal: AbortSignal, promise: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(new StopRequested());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new StopRequested());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
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

/** Undo steps, registered before each start is awaited so a stop mid-start still undoes that start. */
export class Teardown {
  private readonly steps: { what: string; run: () => Promise<void> }[] = [];

  add(what: string, run: () => Promise<void>): void {
    this.steps.push({ what, run });
  }

  /** Runs every step, newest first; a failing step is reported and the others still run. */
  async run(say: (line: string) => void): Promise<void> {
    for (const step of this.steps.reverse()) {
      await step.run().catch((err: Error) => say(`clean-up of the ${step.what} failed: ${err.message}`));
    }
  }
}

export interface StepContext {
  logger: Logger;
  teardown: Teardown;
  stop: AbortSignal;
  say(line: string): void;
}

export async function startEtcdStep(context: StepContext, endpoints: string[], binary: string | undefined): Promise<DemoEtcd> {
  const starting = useOrSpawnEtcd(endpoints, binary ? { binary } : {});
  context.teardown.add('etcd', async () => {
    const started = await starting.catch(() => undefined);
    if (!started?.spawned) return;
    await started.stop();
    context.say('etcd stopped (last, after every deregistration), its data dir removed');
  });
  const etcd = await unlessStopped(context.stop, starting);
  const note = etcd.spawned ? `etcd ${etcd.version} started here, stopped and removed on exit` : 'already running';
  context.say(`  etcd           ${etcd.endpoints.join(', ')} (${note})`);
  return etcd;
}

export async function startControlPlaneStep(
  context: StepContext,
  options: {
    etcdEndpoints: string[];
    prefix: string;
    configPrefix: string;
    xdsAddress: string;
    adminAddress: string;
    freePortWhenBusy: { xds: boolean; admin: boolean };
  },
): Promise<{ plane: ControlPlane; xdsAddress: string; adminUrl: string }> {
  const plane = await startControlPlane({
    etcdEndpoints: options.etcdEndpoints,
    prefix: options.prefix,
    configPrefix: options.configPrefix,
    xdsAddress: await bindableAddress(options.xdsAddress, options.freePortWhenBusy.xds),
    adminAddress: await bindableAddress(options.adminAddress, options.freePortWhenBusy.admin),
    logger: context.logger,
  });
  context.teardown.add('control plane', async () => {
    await plane.close();
    context.say('control plane closed');
  });
  const xdsAddress = await unlessStopped(context.stop, plane.xdsReady);
  const adminUrl = `http://${plane.adminAddress}/`;
  context.say(`  control plane  xDS ${xdsAddress} · admin ${adminUrl}`);
  return { plane, xdsAddress, adminUrl };
}

export async function startFleetStep(
  context: StepContext,
  options: { etcdEndpoints: string[]; prefix: string; backends: number; drainSeconds: number; ttlSeconds: number; hurry: AbortSignal },
): Promise<GreeterFleet> {
  const starting = GreeterFleet.start({
    service: DEMO_SERVICE,
    count: options.backends,
    etcdEndpoints: options.etcdEndpoints,
    prefix: options.prefix,
    drainSeconds: options.drainSeconds,
    ttlSeconds: options.ttlSeconds,
    logger: context.logger,
  });
  context.teardown.add('backends', async () => {
    const fleet = await starting.catch(() => undefined);
    if (fleet) await stopFleet(context, fleet, options);
  });
  const fleet = await unlessStopped(context.stop, starting);
  const list = fleet.all().map((b) => `${b.instanceId} ${b.address}:${b.port} ${VERSION_KEY}=${fleet.versionOf(b.instanceId)}`).join(' · ');
  context.say(`  backends       ${list} (registered by the SDK under ${options.prefix}${DEMO_SERVICE}/)`);
  return fleet;
}

/** Drains (or, hurried, deregisters at once) every running backend, then checks in etcd what is really left. */
async function stopFleet(context: StepContext, fleet: GreeterFleet, options: { drainSeconds: number; ttlSeconds: number; hurry: AbortSignal }): Promise<void> {
  const running = fleet.serving().map((b) => b.instanceId);
  const hurried = options.hurry.aborted;
  if (running.length > 0 && !hurried) context.say(`draining ${running.join(', ')} (${options.drainSeconds} s; Ctrl-C skips the wait)`);
  const onHurry = (): void => void fleet.stopAll();
  options.hurry.addEventListener('abort', onHurry, { once: true });
  await (hurried ? fleet.stopAll() : fleet.drainAll());
  options.hurry.removeEventListener('abort', onHurry);
  const left = await fleet.stillRegistered().catch((err: Error) => {
    context.say(`backends stopped, but etcd could not be asked whether their keys are gone: ${err.message}`);
    return undefined;
  });
  fleet.close();
  if (left === undefined) return;
  const how = options.hurry.aborted ? 'deregistered at once (drain skipped) and stopped' : 'drained, deregistered and stopped';
  if (left.length === 0) context.say(`backends ${how}; none of their keys is left in etcd`);
  else context.say(`backends stopped, but ${left.join(', ')} still in etcd: they expire with their ${options.ttlSeconds} s lease (see the log)`);
}

/** The proxyless client: a bootstrap from `etcd-xds bootstrap grpc`'s builder, then paced calls. */
export async function startClientStep(
  context: StepContext,
  options: { workDir: string; xdsAddress: string; ratePerSecond: number; tally: CallTally },
): Promise<{ traffic: Traffic; bootstrapFile: string }> {
  const document = grpcBootstrap({ xdsServer: options.xdsAddress, nodeId: `etcd-xds-demo-${process.pid}`, nodeCluster: 'etcd-xds-demo' });
  const bootstrapFile = writeBootstrapFile(options.workDir, document);
  await enableXdsResolver(bootstrapFile);
  const traffic = startTraffic({
    target: `xds:///${DEMO_SERVICE}`,
    ratePerSecond: options.ratePerSecond,
    onAnswer: (id) => options.tally.answered(id),
    onError: (message) => options.tally.failed(message),
  });
  context.teardown.add('client', async () => {
    await traffic.stop();
    context.say('client closed');
  });
  context.say(`  client         xds:///${DEMO_SERVICE} via @grpc/grpc-js-xds, ${options.ratePerSecond} calls/s (bootstrap ${bootstrapFile})`);
  return { traffic, bootstrapFile };
}

/** The commands to try in another terminal, with this demo's addresses. */
export function printHints(
  say: (line: string) => void,
  options: { cli: string; adminUrl: string; adminAddress: string; etcdEndpoint: string; prefix: string; configPrefix: string; canaryFile: string },
): void {
  const { cli, adminUrl } = options;
  const prefixFlag = options.prefix === '/services/' ? '' : ` --prefix ${options.prefix}`;
  const configPrefixFlag = options.configPrefix === DEFAULT_CONFIG_PREFIX ? '' : ` --config-prefix ${options.configPrefix}`;
  say('Try, in another terminal:');
  say(`  open ${adminUrl}   the admin page: services, instances, connected xDS clients`);
  say(`  curl -s ${adminUrl}debug/services   what the control plane publishes from etcd`);
  say(`  ${cli} clients --admin ${options.adminAddress}   this client's xDS stream, versions and sync status`);
  say(
    `  ${cli} config apply -f ${shellWord(options.canaryFile)} --dry-run --registrations-from-etcd --etcd-endpoints ${options.etcdEndpoint}${prefixFlag}${configPrefixFlag}` +
      '   what the canary split sends each kind of client',
  );
  say(`  ${cli} drain ${DEMO_SERVICE}/greeter-2 --etcd-endpoints ${options.etcdEndpoint}${prefixFlag}   an operator drains a backend`);
  say(
    `  ${cli} sample-backend --kind grpc --service ${DEMO_SERVICE} --port 0 --address 127.0.0.1 ` +
      `--instance-id mine --etcd-endpoints ${options.etcdEndpoint}${prefixFlag}   a backend of your own joins`,
  );
}
