// One instance watched by the registrar: probes it on its interval and keeps its etcd key in step with the result.
//   probe ok                         → listed with status serving (registered under a fresh lease if not listed)
//   probe fails                      → listed with status unhealthy
//   failing for removeAfterSeconds   → key deleted and lease revoked; probing goes on, a recovery lists it again
import type { Namespace } from 'etcd3';
import type { InstanceStatus } from '../registry/types.js';
import { LeasedKey, type RegistrationLogger } from './leased-key.js';
import { httpProbe } from '../health/http-probe.js';
import { tcpProbe } from '../health/tcp-probe.js';
import type { Probe } from '../health/types.js';
import { buildRecord, encodeRecord, registrationKey } from './record.js';
import type { RegistrarInstanceSpec } from './registrar-config.js';

export type ProbedInstanceState = 'pending' | InstanceStatus | 'removed';

export interface ProbedInstanceOptions {
  spec: RegistrarInstanceSpec;
  client: Namespace;
  prefix: string;
  ttlSeconds: number;
  logger: RegistrationLogger;
  /** Called on every state change (for logs, metrics and tests). */
  onTransition?: (key: string, from: ProbedInstanceState, to: ProbedInstanceState, detail: string) => void;
}

export class ProbedInstance {
  readonly key: string;
  private state: ProbedInstanceState = 'pending';
  private leasedKey: LeasedKey | undefined;
  private failingSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  /** The same probes the control plane's health checker runs. */
  private readonly prober: Probe;

  constructor(private readonly options: ProbedInstanceOptions) {
    this.key = registrationKey(options.prefix, options.spec.service, options.spec.instanceId);
    const { address, port, probe } = options.spec;
    this.prober =
      probe.type === 'tcp'
        ? tcpProbe(address, port)
        : httpProbe(address, port, { path: probe.path, ...(probe.expectedStatus !== undefined ? { expectedStatus: probe.expectedStatus } : {}) });
  }

  currentState(): ProbedInstanceState {
    return this.state;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops probing and deregisters (deletes the key, revokes the lease). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.leasedKey?.remove();
    this.leasedKey = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.probeOnce()
        .catch((err: unknown) => this.options.logger.error({ key: this.key, err: String(err) }, 'probe round failed'))
        .finally(() => this.schedule(this.options.spec.probe.intervalMs));
    }, delayMs);
  }


  private async probe(): Promise<{ ok: boolean; detail: string }> {
    const outcome = await this.prober.run(AbortSignal.timeout(this.options.spec.probe.timeoutMs));
    return outcome.ok ? { ok: true, detail: `${this.prober.type} ${this.prober.target} ok` } : { ok: false, detail: outcome.error };
  }

  private async probeOnce(): Promise<void> {
    const result = await this.probe();
    if (this.stopped) return;
    if (result.ok) {
      this.failingSince = undefined;
      await this.list('serving', result.detail);
      return;
    }
    this.failingSince ??= Date.now();
    const failingForMs = Date.now() - this.failingSince;
    if (failingForMs >= this.options.spec.removeAfterSeconds * 1000) {
      await this.unlist(`${result.detail}; failing for ${Math.round(failingForMs / 1000)} s`);
    } else if (this.state !== 'removed') {
      await this.list('unhealthy', result.detail);
    }
  }

  /** Writes the key with `status`, registering it under a new lease when it is not listed. */
  private async list(status: InstanceStatus, detail: string): Promise<void> {
    if (this.state === status) return;
    const { spec } = this.options;
    const value = encodeRecord(buildRecord({ ...spec, status }));
    if (this.leasedKey) {
      try {
        await this.leasedKey.setValue(value);
      } catch (err) {
        // The lease keeper re-registers with the new value if the lease is gone; etcd down is retried next probe.
        this.options.logger.warn({ key: this.key, err: (err as Error).message }, `could not mark the instance ${status}`);
        return;
      }
    } else {
      const leasedKey = new LeasedKey({
        client: this.options.client,
        key: this.key,
        value,
        ttlSeconds: this.options.ttlSeconds,
        logger: this.options.logger,
      });
      this.leasedKey = leasedKey;
      // Not awaited: while etcd is unreachable the lease keeper retries on its own; probing carries on meanwhile.
      leasedKey.start().catch(() => undefined);
    }
    this.transition(status, detail);
  }

  private async unlist(detail: string): Promise<void> {
    if (this.state === 'removed') return;
    const leasedKey = this.leasedKey;
    this.leasedKey = undefined;
    await leasedKey?.remove();
    this.transition('removed', detail);
  }

  private transition(to: ProbedInstanceState, detail: string): void {
    const from = this.state;
    this.state = to;
    const level = to === 'serving' ? 'info' : 'warn';
    this.options.logger[level]({ key: this.key, from, to, probe: detail }, `instance ${to}`);
    this.options.onTransition?.(this.key, from, to, detail);
  }
}
