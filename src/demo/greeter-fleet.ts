// The demo's backends: in-process Greeter instances `greeter-1`, `greeter-2`, … on loopback, each registered through
// the SDK like a real service, and the moves the demo makes on them (drain one, kill one, add one).
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

export class GreeterFleet {
  private readonly client: Etcd3;
  private readonly members: { backend: SampleBackend; state: BackendState }[] = [];
  private clientClosed = false;

  private constructor(private readonly options: GreeterFleetOptions) {
    // One shared etcd client: the SDK leaves a client it was given open, and the fleet closes it at the end.
    this.client = createEtcdClient(options.etcdEndpoints);
  }

  static async start(options: GreeterFleetOptions): Promise<GreeterFleet> {
    const fleet = new GreeterFleet(options);
    try {
      for (let i = 0; i < options.count; i++) await fleet.add();
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

  async add(): Promise<SampleBackend> {
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
      logger: this.options.logger.child({ component: 'backend', instance: `greeter-${this.members.length + 1}` }),
    });
    this.members.push({ backend, state: 'serving' });
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

  private running(): { backend: SampleBackend; state: BackendState }[] {
    return this.members.filter((m) => m.state === 'serving' || m.state === 'draining');
  }

  private closeClient(): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    this.client.close();
  }

  private pickVictim(): { backend: SampleBackend; state: BackendState } | undefined {
    const serving = this.members.filter((m) => m.state === 'serving');
    return serving.length > 1 ? serving[serving.length - 1] : undefined;
  }
}
