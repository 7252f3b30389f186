// One etcd key kept alive under a lease. etcd3's Lease keeps a lease alive but gives up for good when it is lost
// (revoked, expired, or etcd unreachable for longer than 2×TTL); this class then grants a NEW lease and writes the
// key again, with capped, jittered exponential backoff, until it succeeds or the key is removed/released.
// Used by the SDK (one registration) and the registrar (one per probed instance).
import { EventEmitter } from 'node:events';
import type { Lease, Namespace } from 'etcd3';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

/** The logging calls this module makes; a pino logger fits, so does any logger with these methods. */
export interface RegistrationLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LeasedKeyOptions {
  client: Namespace;
  key: string;
  /** The value to write; change it later with setValue(). */
  value: string;
  ttlSeconds: number;
  logger: RegistrationLogger;
  backoff?: BackoffOptions;
  /** Deadline of each etcd call (grant, put, delete, revoke), so an unreachable etcd fails the attempt. */
  callTimeoutMs?: number;
}

export interface LeasedKeyEvents {
  /** The key was written under a lease; `again` is false for the first registration. */
  registered: [{ leaseId: string; again: boolean; previousLeaseId?: string }];
  /** The lease is gone (revoked, expired, or etcd unreachable too long); re-registration starts. */
  lost: [{ leaseId: string; error: Error }];
  /** An attempt to (re-)register failed; the next one follows after `delayMs`. */
  retry: [{ attempt: number; delayMs: number; error: Error }];
}

type LifecycleState = 'idle' | 'registering' | 'registered' | 'closed';

export class LeasedKey extends EventEmitter<LeasedKeyEvents> {
  readonly key: string;
  private value: string;
  private readonly client: Namespace;
  private readonly ttlSeconds: number;
  private readonly logger: RegistrationLogger;
  private readonly backoff: BackoffOptions;
  private readonly callTimeoutMs: number;
  private state: LifecycleState = 'idle';
  private lease: Lease | undefined;
  private currentLeaseId: string | undefined;
  private lastLeaseId: string | undefined;
  /** The etcd revision of the write that put the key under the current lease. */
  private writtenRevision: string | undefined;
  private everRegistered = false;
  private loop: Promise<void> | undefined;
  private closeMode: 'release' | 'remove' | undefined;
  private wakeFromBackoff: (() => void) | undefined;
  private firstRegistration: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(options: LeasedKeyOptions) {
    super();
    this.client = options.client;
    this.key = options.key;
    this.value = options.value;
    this.ttlSeconds = options.ttlSeconds;
    this.logger = options.logger;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.callTimeoutMs = options.callTimeoutMs ?? 5_000;
  }

  /** The etcd revision at which the key was written under the current lease (undefined while it has none). */
  writtenAtRevision(): string | undefined {
    return this.currentLeaseId === undefined ? undefined : this.writtenRevision;
  }

  /** The lease currently holding the key (decimal string), undefined while (re-)registering or after close. */
  leaseId(): string | undefined {
    return this.currentLeaseId;
  }

  /** True once the key has been written at least once (so deleting it is a deregistration). */
  wasWritten(): boolean {
    return this.everRegistered;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Starts keeping the key; resolves on the first successful write, rejects if closed before that. */
  start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`LeasedKey ${this.key} was already started`);
    const first = new Promise<void>((resolve, reject) => (this.firstRegistration = { resolve, reject }));
    this.loop = this.register();
    return first;
  }

  /** Rewrites the key with a new value under the current lease; re-registrations use it from now on. */
  async setValue(value: string): Promise<void> {
    this.value = value;
    const lease = this.lease;
    if (this.state !== 'registered' || !lease) return; // the registration loop writes the new value
    await lease.put(this.key).value(value).options(this.deadline());
  }

  /**
   * The value to write from now on, without writing it: the key already holds it (someone else wrote it), and a
   * re-registration after a lost lease must write it rather than the old one.
   */
  adoptValue(value: string): void {
    this.value = value;
  }

  /** Stops keeping the key alive without deleting it: it expires with its lease's TTL (like a crashed process). */
  release(): void {
    if (!this.markClosed('release')) return;
    this.lease?.release();
    this.lease = undefined;
    this.currentLeaseId = undefined;
  }

  /**
   * Deletes the key and revokes its lease, stopping re-registration. Idempotent: false when the key was already
   * removed or released. Best effort: when etcd cannot be reached the failure is logged and the key expires with
   * its lease's TTL.
   */
  async remove(): Promise<boolean> {
    if (!this.markClosed('remove')) return false;
    await this.loop; // an attempt in flight finishes first, so its put cannot land after the delete
    const lease = this.lease;
    this.lease = undefined;
    this.currentLeaseId = undefined;
    try {
      if (this.everRegistered) await this.client.delete().key(this.key).options(this.deadline());
      await lease?.revoke(this.deadline());
    } catch (err) {
      lease?.release();
      this.logger.warn(
        { key: this.key, err: (err as Error).message },
        `could not delete the key; it expires with its lease within ${this.ttlSeconds} s`,
      );
    }
    return true;
  }

  private markClosed(mode: 'release' | 'remove'): boolean {
    if (this.state === 'closed') return false;
    this.state = 'closed';
    this.closeMode = mode;
    this.wakeFromBackoff?.();
    this.firstRegistration?.reject(new Error(`registration of ${this.key} was closed before it completed`));
    this.firstRegistration = undefined;
    return true;
  }

  private deadline(): { deadline: number } {
    return { deadline: Date.now() + this.callTimeoutMs };
  }

  /** Grants a lease and writes the key, retrying with backoff until it works or the key is closed. */
  private async register(): Promise<void> {
    this.state = 'registering';
    for (let attempt = 0; this.isOpen(); attempt++) {
      let lease: Lease | undefined;
      try {
        const candidate = this.client.lease(this.ttlSeconds, this.deadline());
        lease = candidate;
        // Listening from the start: etcd3 also emits 'lost' when the grant itself fails; only the current lease counts.
        candidate.on('lost', (error) => this.onLeaseLost(candidate, error));
        const leaseId = await candidate.grant();
        let written: string;
        let revision: string;
        do {
          written = this.value; // setValue() during the write: write again, the newer value wins
          revision = (await candidate.put(this.key).value(written).options(this.deadline())).header.revision;
        } while (written !== this.value);
        if (candidate.revoked()) throw new Error(`lease ${leaseId} was lost while writing the key`);
        if (!this.isOpen()) return this.handOverAfterClose(candidate);
        this.writtenRevision = revision;
        this.acceptLease(candidate, leaseId);
        return;
      } catch (err) {
        lease?.release();
        if (!this.isOpen()) return;
        const error = err instanceof Error ? err : new Error(String(err));
        const delayMs = backoffDelay(attempt, this.backoff);
        this.logger.warn(
          { key: this.key, attempt: attempt + 1, retryInMs: delayMs, err: error.message },
          'registration attempt failed; retrying',
        );
        this.emit('retry', { attempt: attempt + 1, delayMs, error });
        await this.sleep(delayMs);
      }
    }
  }

  /** The key was written after close was asked for: remove() (awaiting this loop) deletes it; release() lets it expire. */
  private handOverAfterClose(lease: Lease): void {
    this.everRegistered = true;
    if (this.closeMode === 'remove') this.lease = lease;
    else lease.release();
  }

  // A method (not a field read) so TypeScript does not narrow `state` across the awaits above.
  private isOpen(): boolean {
    return this.state !== 'closed';
  }

  private acceptLease(lease: Lease, leaseId: string): void {
    const again = this.everRegistered;
    const previousLeaseId = this.lastLeaseId;
    this.lease = lease;
    this.currentLeaseId = leaseId;
    this.lastLeaseId = leaseId;
    this.everRegistered = true;
    this.state = 'registered';
    if (again) {
      this.logger.info({ key: this.key, leaseId, previousLeaseId }, 're-registered with a new lease');
    } else {
      this.logger.info({ key: this.key, leaseId, ttlSeconds: this.ttlSeconds }, 'registered');
    }
    this.firstRegistration?.resolve();
    this.firstRegistration = undefined;
    this.emit('registered', again ? { leaseId, again, previousLeaseId } : { leaseId, again });
  }

  private onLeaseLost(lease: Lease, error: Error): void {
    if (lease !== this.lease || this.state !== 'registered') return;
    const leaseId = this.currentLeaseId ?? '?';
    this.lease = undefined;
    this.currentLeaseId = undefined;
    this.logger.warn({ key: this.key, leaseId, err: error.message }, 'lease lost; registering again with a new lease');
    this.emit('lost', { leaseId, error });
    this.loop = this.register();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeFromBackoff = done;
    });
  }
}
