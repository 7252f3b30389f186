// Proof that a lease is kept alive, without sleeping past its TTL: etcd reports more time left on the lease than
// it could have had without a keep-alive after `since`.
import type { Etcd3 } from 'etcd3';
import { eventually } from './eventually.js';

/**
 * Waits until etcd has renewed `leaseId` (granted for `grantedSeconds`) after `since` (a performance.now() taken
 * after the lease was granted). Without a renewal the time left is at most grantedSeconds − elapsed, and etcd
 * rounds it down, so more than that proves one. Fails when the lease expires (etcd then answers −1).
 */
export async function leaseRenewedAfter(client: Etcd3, leaseId: string, grantedSeconds: number, since: number): Promise<void> {
  await eventually(
    async () => {
      const elapsedSeconds = (performance.now() - since) / 1000; // taken before asking, so never more than etcd's
      const left = Number((await client.leaseClient.leaseTimeToLive({ ID: leaseId })).TTL);
      return { elapsedSeconds, left };
    },
    ({ elapsedSeconds, left }) => left > grantedSeconds - elapsedSeconds,
    `a keep-alive of lease ${leaseId}`,
  );
}
