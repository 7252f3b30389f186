// The SDK: `register()` announces one instance of a service in etcd and keeps it there until drained, deregistered
// or closed. Address detection, the port wait and the lease handling each live in their own module.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { Etcd3, Namespace } from 'etcd3';
import { z } from 'zod';
import type { HealthCheckSpec, Locality } from '../registry/types.js';
import { silentLogger } from '../logger.js';
import { createEtcdClient, type EtcdConnection } from '../registry/etcd-client.js';
import { detectAddress, type AddressFamily } from './address.js';
import type { BackoffOptions } from './backoff.js';
import { LeasedKey, type RegistrationLogger } from './leased-key.js';
import { OwnKeyWatch } from './own-key-watch.js';
import { waitForPort } from './probe.js';
import {
  buildRecord,
  describeIssues,
  encodeRecord,
  healthCheckSchema,
  instanceIdSchema,
  ipAddressSchema,
  localitySchema,
  metadataSchema,
  portSchema,
  prioritySchema,
  readerRejection,
  registrationKey,
  serviceNameSchema,
  weightSchema,
  DEFAULT_PREFIX,
  type RegistrationRecord,
} from './record.js';

export interface RegisterOptions {
  service: string;
  port: number;
  /** 'auto' (default): detected from the network interfaces; otherwise an IPv4/IPv6 literal. */
  address?: 'auto' | string;
  /** Address family for 'auto' (default 4). */
  family?: AddressFamily;
  /** Network interface for 'auto', e.g. 'eth0'. */
  interface?: string;
  /** Network the 'auto' address must lie in, e.g. '10.0.0.0/8'. */
  cidr?: string;
  /** Lease TTL in seconds (default 10): how long a crashed instance stays listed. */
  ttlSeconds?: number;
  weight?: number;
  priority?: number;
  locality?: Locality;
  metadata?: Record<string, string>;
  healthCheck?: HealthCheckSpec;
  /** How long drain() keeps the instance listed as draining before deleting it (default 5). */
  drainSeconds?: number;
  /** Default `${hostname}-${address}-${port}`. */
  instanceId?: string;
  /** Key prefix (default '/services/'). */
  prefix?: string;
  /** An etcd3 client (kept open on deregister), or how to reach etcd for a client the SDK creates and closes. */
  etcd?: Namespace | EtcdConnection;
  /** Register only once the port accepts TCP connections, waiting at most this long (default 30000; 0 = don't wait). */
  waitForPortMs?: number;
  logger?: RegistrationLogger;
  /** Aborts a registration still waiting for the port or for etcd. */
  signal?: AbortSignal;
  /** Retry pacing after a lost lease (default 200 ms doubling up to 5 s, jittered). */
  backoff?: BackoffOptions;
}

export interface RegistrationEvents {
  registered: [{ leaseId: string; again: boolean; previousLeaseId?: string }];
  lost: [{ leaseId: string; error: Error }];
  retry: [{ attempt: number; delayMs: number; error: Error }];
  /** `by: 'operator'`: someone else marked the key draining (etcd-xds drain); the instance keeps it draining. */
  draining: [{ by: 'instance' | 'operator' }];
  /** `by: 'operator'`: someone else deleted the key while its lease lived (etcd-xds deregister); it stays deleted. */
  deregistered: [{ by: 'instance' | 'operator' }];
}

export interface Registration {
  /** The etcd key, `<prefix><service>/<instanceId>`. */
  readonly key: string;
  /** The record as last written (status changes to 'draining' during drain()). */
  readonly instance: Readonly<RegistrationRecord>;
  /** The lease currently holding the key; undefined while re-registering and after the end. */
  leaseId(): string | undefined;
  /** Marks the instance draining, waits drainSeconds, then deletes the key and revokes the lease. Idempotent. */
  drain(): Promise<void>;
  /** Deletes the key and revokes the lease at once (also cuts a drain short). Idempotent. */
  deregister(): Promise<void>;
  /** Stops keeping the key alive without deleting it: it expires with the lease TTL. */
  close(): void;
  on<E extends keyof RegistrationEvents>(event: E, listener: (...args: RegistrationEvents[E]) => void): this;
  once<E extends keyof RegistrationEvents>(event: E, listener: (...args: RegistrationEvents[E]) => void): this;
  off<E extends keyof RegistrationEvents>(event: E, listener: (...args: RegistrationEvents[E]) => void): this;
}

const optionsSchema = z.object({
  service: serviceNameSchema,
  port: portSchema,
  address: z.union([z.literal('auto'), ipAddressSchema]).optional(),
  family: z.union([z.literal(4), z.literal(6)]).optional(),
  interface: z.string().min(1).optional(),
  cidr: z.string().optional(),
  ttlSeconds: z.number().int('ttlSeconds must be an integer').min(1, 'ttlSeconds must be ≥ 1').optional(),
  weight: weightSchema.optional(),
  priority: prioritySchema.optional(),
  locality: localitySchema.optional(),
  metadata: metadataSchema.optional(),
  healthCheck: healthCheckSchema.optional(),
  drainSeconds: z.number().min(0, 'drainSeconds must be ≥ 0').max(3600, 'drainSeconds must be at most 3600').optional(),
  instanceId: instanceIdSchema.optional(),
  prefix: z.string().min(1).optional(),
  waitForPortMs: z.number().int().min(0).optional(),
});

function resolveClient(etcd: RegisterOptions['etcd']): { client: Namespace; owned: boolean } {
  if (etcd === undefined) return { client: createEtcdClient('http://127.0.0.1:2379'), owned: true };
  if ('endpoints' in etcd && Array.isArray(etcd.endpoints)) {
    if (etcd.endpoints.length === 0) throw new Error('register: etcd.endpoints must list at least one endpoint');
    return { client: createEtcdClient(etcd as EtcdConnection), owned: true };
  }
  return { client: etcd as Namespace, owned: false };
}

class ServiceRegistration extends EventEmitter<RegistrationEvents> implements Registration {
  private record: RegistrationRecord;
  private ending: Promise<void> | undefined;
  private cutDrainShort: (() => void) | undefined;
  private readonly ownKey: OwnKeyWatch;

  constructor(
    readonly key: string,
    record: RegistrationRecord,
    client: Namespace,
    private readonly leasedKey: LeasedKey,
    private readonly drainSeconds: number,
    private readonly logger: RegistrationLogger,
    private readonly closeClient: () => void,
  ) {
    super();
    this.record = record;
    leasedKey.on('registered', (e) => this.emit('registered', e));
    leasedKey.on('lost', (e) => this.emit('lost', e));
    leasedKey.on('retry', (e) => this.emit('retry', e));
    this.ownKey = new OwnKeyWatch(
      client,
      key,
      () => leasedKey.leaseId(),
      () => leasedKey.writtenAtRevision(),
      { onDrainingValue: () => this.onOperatorDrain(), onDeletedWhileLeased: () => this.onOperatorDelete() },
      logger,
    );
  }

  /**
   * Starts noticing what operators do to the key, before register() resolves so that no change is missed. Bounded:
   * a watch that cannot start in time is logged, and the registration goes on without it.
   */
  async watchOwnKey(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no watch within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.ownKey.start(), timeout]);
    } catch (err) {
      this.logger.warn({ key: this.key, err: (err as Error).message }, 'could not watch the own key; operator drains go unnoticed');
    } finally {
      clearTimeout(timer);
    }
  }

  get instance(): Readonly<RegistrationRecord> {
    return this.record;
  }

  leaseId(): string | undefined {
    return this.leasedKey.leaseId();
  }

  drain(): Promise<void> {
    this.ending ??= this.drainThenRemove();
    return this.ending;
  }

  deregister(): Promise<void> {
    this.cutDrainShort?.();
    this.ending ??= this.remove();
    return this.ending;
  }

  close(): void {
    this.cutDrainShort?.();
    void this.ownKey.close();
    this.leasedKey.release();
    this.ending ??= Promise.resolve();
    this.closeClient();
  }

  private async drainThenRemove(): Promise<void> {
    // Armed before the first await, so deregister()/close() cut the drain short whenever they come.
    let endDrain!: () => void;
    const drainEnded = new Promise<void>((resolve) => (endDrain = resolve));
    this.cutDrainShort = endDrain;
    this.record = { ...this.record, status: 'draining' };
    try {
      await this.leasedKey.setValue(encodeRecord(this.record));
      this.logger.info({ key: this.key, drainSeconds: this.drainSeconds }, 'draining');
    } catch (err) {
      this.logger.warn({ key: this.key, err: (err as Error).message }, 'could not mark the instance draining');
    }
    this.emit('draining', { by: 'instance' });
    const timer = setTimeout(endDrain, this.drainSeconds * 1000);
    await drainEnded;
    clearTimeout(timer);
    await this.remove();
  }

  private async remove(): Promise<void> {
    await this.ownKey.close();
    // After close() (release) the key is left to expire with its lease: not deregistered, so not announced.
    const removed = await this.leasedKey.remove();
    this.closeClient();
    // Never written (stopped while waiting for etcd or the port): nothing was deregistered, so nothing is announced.
    if (!removed || !this.leasedKey.wasWritten()) return;
    this.logger.info({ key: this.key }, 'deregistered');
    this.emit('deregistered', { by: 'instance' });
  }

  /** An operator drained the key: keep it draining, in every later write (a re-registration after a lost lease too). */
  private onOperatorDrain(): void {
    if (this.ending || this.record.status === 'draining') return;
    this.record = { ...this.record, status: 'draining' };
    this.leasedKey.adoptValue(encodeRecord(this.record));
    this.logger.warn({ key: this.key }, 'an operator marked this instance draining; it stays draining');
    this.emit('draining', { by: 'operator' });
  }

  /** An operator deleted the key: stop keeping it (and never write it back), revoking the lease. */
  private onOperatorDelete(): void {
    this.ending ??= (async () => {
      await this.ownKey.close();
      await this.leasedKey.remove();
      this.closeClient();
      this.logger.warn({ key: this.key }, 'an operator deleted the key; the instance is no longer registered');
      this.emit('deregistered', { by: 'operator' });
    })();
  }
}

/** What a registration will write, checked: the key and the record, with the instance's address already known. */
export interface RegistrationPlan {
  key: string;
  instanceId: string;
  record: RegistrationRecord;
}

/**
 * Validates the options and builds the record for `address` (an IP literal: `auto` is resolved before). Throws with
 * the field at fault when the options are invalid or the control plane's reader would reject the record.
 */
export function planRegistration(options: RegisterOptions, address: string): RegistrationPlan {
  const parsed = optionsSchema.safeParse({ ...options, address });
  if (!parsed.success) throw new Error(`register: invalid options: ${describeIssues(parsed.error)}`);
  const instanceId = options.instanceId ?? `${os.hostname()}-${address}-${options.port}`;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const record = buildRecord({ ...options, address });
  const rejection = readerRejection(prefix, options.service, instanceId, record);
  if (rejection) throw new Error(`register: the control plane would reject this registration: ${rejection}`);
  return { key: registrationKey(prefix, options.service, instanceId), instanceId, record };
}

/**
 * Registers one instance: resolves the address, waits until the port accepts connections, writes the record under
 * a lease and keeps it alive (re-registering with a new lease whenever the lease is lost). Resolves once the key is
 * written; while etcd is unreachable it keeps retrying (abort with `signal`).
 */
export async function register(options: RegisterOptions): Promise<Registration> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`register: invalid options: ${describeIssues(parsed.error)}`);
  const logger = options.logger ?? silentLogger();
  const detected = options.address === undefined || options.address === 'auto';
  const address = detected
    ? detectAddress({ family: options.family, interface: options.interface, cidr: options.cidr, logger })
    : options.address!;
  const { key, record } = planRegistration(options, address);
  const waitForPortMs = options.waitForPortMs ?? 30_000;
  if (waitForPortMs > 0) {
    logger.info({ address, port: options.port, timeoutMs: waitForPortMs }, 'waiting for the port to accept connections');
    await waitForPort({ address, port: options.port, timeoutMs: waitForPortMs, signal: options.signal, detectLoopbackOnly: detected });
  }

  const { client, owned } = resolveClient(options.etcd);
  let clientClosed = !owned;
  const closeClient = (): void => {
    if (clientClosed) return;
    clientClosed = true;
    (client as Etcd3).close();
  };
  const leasedKey = new LeasedKey({
    client,
    key,
    value: encodeRecord(record),
    ttlSeconds: options.ttlSeconds ?? 10,
    logger,
    backoff: options.backoff,
  });
  const registration = new ServiceRegistration(key, record, client, leasedKey, options.drainSeconds ?? 5, logger, closeClient);

  // Aborting mid-way deletes whatever an attempt in flight may still write.
  const abort = (): void => void registration.deregister();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    options.signal?.throwIfAborted();
    await leasedKey.start();
    // Written: from here an abort is the caller's stop signal (it drains what is now registered), not a cancel.
    options.signal?.removeEventListener('abort', abort);
    await registration.watchOwnKey();
    return registration;
  } catch (err) {
    await registration.deregister();
    throw options.signal?.aborted ? options.signal.reason : err;
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}
