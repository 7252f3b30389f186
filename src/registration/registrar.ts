// The server-side registrar: registers instances that cannot register themselves, listing each one only while its
// probe says so. One ProbedInstance per configured instance; each keeps its own lease through LeasedKey.
import type { Etcd3, Namespace } from 'etcd3';
import { createEtcdClient, type EtcdConnection } from '../registry/etcd-client.js';
import type { RegistrationLogger } from './leased-key.js';
import { ProbedInstance, type ProbedInstanceState } from './probed-instance.js';
import { DEFAULT_PREFIX } from './record.js';
import type { RegistrarConfig } from './registrar-config.js';

export interface RegistrarOptions {
  config: RegistrarConfig;
  /** An etcd3 client (left open by stop()), or how to reach etcd for a client the registrar creates and closes. */
  etcd: Namespace | EtcdConnection;
  prefix?: string;
  logger: RegistrationLogger;
  onTransition?: (key: string, from: ProbedInstanceState, to: ProbedInstanceState, detail: string) => void;
}

export class Registrar {
  private readonly instances: ProbedInstance[];
  private readonly client: Namespace;
  private readonly ownsClient: boolean;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: RegistrarOptions) {
    const { etcd } = options;
    this.ownsClient = 'endpoints' in etcd && Array.isArray(etcd.endpoints);
    this.client = this.ownsClient ? createEtcdClient(etcd as EtcdConnection) : (etcd as Namespace);
    this.instances = options.config.instances.map(
      (spec) =>
        new ProbedInstance({
          spec,
          client: this.client,
          prefix: options.prefix ?? DEFAULT_PREFIX,
          ttlSeconds: options.config.ttlSeconds,
          logger: options.logger,
          onTransition: options.onTransition,
        }),
    );
  }

  start(): void {
    this.options.logger.info({ instances: this.instances.length }, 'registrar started');
    for (const instance of this.instances) instance.start();
  }

  /** Each instance's key and what the registrar currently lists it as. */
  states(): Array<{ key: string; state: ProbedInstanceState }> {
    return this.instances.map((instance) => ({ key: instance.key, state: instance.currentState() }));
  }

  /** Stops probing and deregisters every instance. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.instances.map((instance) => instance.stop()));
      if (this.ownsClient) (this.client as Etcd3).close();
      this.options.logger.info({}, 'registrar stopped; all instances deregistered');
    })();
    return this.stopping;
  }
}
