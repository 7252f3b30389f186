// The sync status the admin views show per stream and type: the stream engine's own (SYNCED, STALE, NACKED,
// NOT_SENT), plus NOT_FOUND when the stream names a resource the served snapshot does not hold. A gRPC client
// asking for `xds:///nosuch` waits for that resource until its deadline: "SYNCED" would hide it.
import type { SyncStatus, TypeStreamInfo } from '../xds/types.js';
import type { ResourceExists } from './subscriptions.js';

export type ViewSyncStatus = SyncStatus | 'NOT_FOUND';

// A record keyed by every member makes this list fail to compile when the union gains one.
export const VIEW_SYNC_STATUSES = Object.keys({
  SYNCED: 1,
  STALE: 1,
  NACKED: 1,
  NOT_FOUND: 1,
  NOT_SENT: 1,
} satisfies Record<ViewSyncStatus, 1>) as ViewSyncStatus[];

/** Names the stream asks for by name that the served snapshot does not hold. */
export function missingNames(info: TypeStreamInfo, exists: ResourceExists): string[] {
  return info.subscribed.filter((name) => !exists(info.typeUrl, name));
}

/** A NACK or a response in flight says more than a missing name; otherwise a missing name means waiting. */
export function typeSyncStatus(info: TypeStreamInfo, missingCount: number): ViewSyncStatus {
  if (info.status === 'NACKED' || info.status === 'STALE') return info.status;
  return missingCount > 0 ? 'NOT_FOUND' : info.status;
}

const WORST_FIRST: readonly ViewSyncStatus[] = ['NACKED', 'STALE', 'NOT_FOUND', 'SYNCED'];

/** A stream's status: the worst of its types; NOT_SENT when nothing was sent on any. */
export function worstStatus(statuses: readonly ViewSyncStatus[]): ViewSyncStatus {
  for (const status of WORST_FIRST) if (statuses.includes(status)) return status;
  return 'NOT_SENT';
}

export function emptyStatusCounts(): Record<ViewSyncStatus, number> {
  return Object.fromEntries(VIEW_SYNC_STATUSES.map((s) => [s, 0])) as Record<ViewSyncStatus, number>;
}
