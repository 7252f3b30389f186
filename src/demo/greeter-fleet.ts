// The demo's backends: in-process Greeter instances `greeter-1`, `greeter-2`, … on loopback, each registered through
// the SDK like a real service, and the moves the demo makes on them (drain one, kill one, add one). Each registers
// metadata `version`: the last of the first fleet is the canary, `v2`; every other one is `v1`.
import { Etcd3 } from 'etcd3';
import type { Logger } from '../logger.js';
import { createEtcdClient } from '../registry/etcd-client.js';
import { startSampleBackend, type SampleBackend } from './sample-backend.js';

export interface GreeterFleetOptions {
  service: string;
  count: number;
  etcdEndpoints: string[];
  prefix: string;
  drainSeconds: number;
  /** Lease TTL: how long a killed backend stays listed in etcd. */
  ttlSeconds: number;
  logger: Logger;
}

type BackendState = 'serving' | 'draining' | 'drained' | 'killed';

/** The registration metadata key that tells the versions apart (the canary policy's subsets.key). */
export const VERSION_KEY = 'version';
export const STABLE_VERSION = 'v1';
export const CANARY_VERSION = 'v2';

interface Member {
  backend: SampleBackend;
  version: string;
  state: BackendState;
}

export class GreeterFleet {
  private readonly client: Etcd3;
  private readonly members: Member[] = [];
  private clientClosed = false;

  private constructor(private readonly options: GreeterFleetOptions) {
    // One shared etcd client: the SDK leaves a client it was given open, and the fleet closes it at the end.
    this.client = createEtcdClient(options.etcdEndpoints);
  }

  static async start(options: GreeterFleetOptions): Promise<GreeterFleet> {
    const fleet = new GreeterFleet(options);
    try {
      // One canary among two or more; a fleet of one is all stable.
      for (let i = 0; i < options.count; i++) await fleet.add(i === options.count - 1 && i > 0 ? CANARY_VERSION : STABLE_VERSION);
    } catch (err) {
      await fleet.stopAll();
      fleet.close();
      throw err;
    }
    return fleet;
  }

  /** Every backend started, in start order (ids greeter-1, greeter-2, …). */
  all(): SampleBackend[] {
    return this.members.map((m) => m.backend);
  }

  serving(): SampleBackend[] {
    return this.members.filter((m) => m.state === 'serving').map((m) => m.backend);
  }

  /** The `version` an instance registered, by instance id (undefined for one the fleet did not start). */
  versionOf(instanceId: string): string | undefined {
    return this.members.find((m) => m.backend.instanceId === instanceId)?.version;
  }

  /** Starts one more backend; added ones are stable. */
  async add(version: string = STABLE_VERSION): Promise<SampleBackend> {
    const backend = await startSampleBackend({
      kind: 'grpc',
      service: this.options.service,
      instanceId: `greeter-${this.members.length + 1}`,
      port: 0,
      host: '127.0.0.1',
      address: '127.0.0.1',
      etcd: this.client,
      prefix: this.options.prefix,
      drainSeconds: this.options.drainSeconds,
      ttlSeconds: this.options.ttlSeconds,
      metadata: { [VERSION_KEY]: version },
      logger: this.options.logger.child({ component: 'backend', instance: `greeter-${this.members.length + 1}` }),
    });
    this.members.push({ backend, version, state: 'serving' });
    return backend;
  }

  /** Drains the newest serving backend (never the last one); resolves when it is deregistered and stopped. */
  drainOne(): { backend: SampleBackend; done: Promise<void> } | undefined {
    const member = this.pickVictim();
    if (!member) return undefined;
    member.state = 'draining';
    const done = member.backend.drain().then(() => {
      member.state = 'drained';
    });
    return { backend: member.backend, done };
  }

  /** Kills the newest serving backend (never the last one), as a crash: its key lives on until the lease expires. */
  killOne(): SampleBackend | undefined {
    const member = this.pickVictim();
    if (!member) return undefined;
    member.state = 'killed';
    member.backend.kill();
    return member.backend;
  }

  /** Drains every backend still running, in parallel. */
  async drainAll(): Promise<void> {
    await Promise.all(this.running().map((m) => m.backend.drain()));
  }

  /** Deregisters every backend still running at once (cutting drains short). */
  async stopAll(): Promise<void> {
    await Promise.all(this.running().map((m) => m.backend.stop()));
  }

  /** The fleet's instance ids whose keys etcd still holds (asked of etcd, not remembered). */
  async stillRegistered(): Promise<string[]> {
    const prefix = `${this.options.prefix.endsWith('/') ? this.options.prefix : `${this.options.prefix}/`}${this.options.service}/`;
    const keys = await this.client.getAll().prefix(prefix).keys();
    const ids = new Set(keys.map((key) => key.slice(prefix.length)));
    return this.members.map((m) => m.backend.instanceId).filter((id) => ids.has(id));
  }

  /** Closes the shared etcd client (after drainAll/stopAll). */
  close(): void {
    this.closeClient();
  }

  private running(): Member[] {
    return this.members.filter((m) => m.state === 'serving' || m.state === 'draining');
  }

  private closeClient(): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    this.client.close();
  }

  private pickVictim(): Member | undefined {
    const serving = this.members.filter((m) => m.state === 'serving');
    return serving.length > 1 ? serving[serving.length - 1] : undefined;
  }
}
