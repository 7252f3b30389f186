// A registration's watch on its own key, so the instance learns what an operator did to it: a rewrite to "draining"
// (etcd-xds drain) or a delete while its lease is still alive (etcd-xds deregister). A delete that comes with the
// lease's expiry is not an operator's: the lease keeper re-registers then, as after any lost lease. Nor is a delete
// older than the write under the current lease: after an outage the watch catches up, and may deliver the old
// lease's expiry after the registration already wrote the key again.
import type { Namespace, Watcher } from 'etcd3';
import type { RegistrationLogger } from './leased-key.js';

export interface OwnKeyEvents {
  /** The key now holds a record whose status is "draining". */
  onDrainingValue(): void;
  /** The key was deleted while `leaseId` (the lease holding it) is still alive: someone removed it on purpose. */
  onDeletedWhileLeased(): void;
}

export class OwnKeyWatch {
  private watcher: Watcher | undefined;
  private closed = false;

  constructor(
    private readonly client: Namespace,
    private readonly key: string,
    private readonly currentLeaseId: () => string | undefined,
    /** The revision of the write under the current lease. */
    private readonly writtenAtRevision: () => string | undefined,
    private readonly events: OwnKeyEvents,
    private readonly logger: RegistrationLogger,
  ) {}

  async start(): Promise<void> {
    const watcher = await this.client.watch().key(this.key).create();
    if (this.closed) {
      await watcher.cancel().catch(() => undefined);
      return;
    }
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      if (isDraining(kv.value.toString('utf8'))) this.events.onDrainingValue();
    });
    watcher.on('delete', (kv) => void this.onDelete(kv.mod_revision));
    // etcd3 reconnects a watch by itself; an error here must not crash the instance.
    watcher.on('error', (err) => this.logger.debug({ key: this.key, err: err.message }, 'watch on the own key failed; it reconnects'));
  }

  async close(): Promise<void> {
    this.closed = true;
    const watcher = this.watcher;
    this.watcher = undefined;
    await watcher?.cancel().catch(() => undefined);
  }

  private async onDelete(deletedAt: string): Promise<void> {
    const leaseId = this.currentLeaseId();
    if (this.closed || !leaseId) return;
    const written = this.writtenAtRevision();
    if (written !== undefined && BigInt(deletedAt || '0') < BigInt(written)) {
      this.logger.debug({ key: this.key, deletedAt, written }, 'a delete older than the current write: not an operator\'s');
      return;
    }
    try {
      const { TTL } = await this.client.leaseClient.leaseTimeToLive({ ID: leaseId });
      if (!this.closed && Number(TTL) > 0 && this.currentLeaseId() === leaseId) this.events.onDeletedWhileLeased();
    } catch (err) {
      // Unknown: leave it to the lease keeper (an expired lease re-registers, a live one keeps the key absent).
      this.logger.debug({ key: this.key, err: (err as Error).message }, 'could not tell why the own key was deleted');
    }
  }
}

function isDraining(text: string): boolean {
  try {
    const record = JSON.parse(text) as { status?: unknown };
    return typeof record === 'object' && record !== null && record.status === 'draining';
  } catch {
    return false;
  }
}
