// /debug/snapshot: the resources the xDS server serves right now, per type, with versions and proto3 JSON.
import { TYPE_URL, type Snapshot, type TypeUrl } from '../snapshot/types.js';
import { compareNames, namesUpTo, orderedNamesAfter, pageEndAcross, type PageRequest } from './paging.js';
import { RESOURCE_KINDS, kindOf, parseResourceType, type ResourceKind } from './resource-types.js';

export interface SnapshotResourceView {
  name: string;
  version: string;
  /** Size of the encoded resource message. */
  bytes: number;
  resource: Record<string, unknown>;
}

export interface SnapshotResponse {
  version: string;
  builtAt: string;
  changeSeenAt: string | null;
  /** `count` is every resource of the type (matching `name`); `resources` is this page of them, in name order. */
  types: Partial<Record<ResourceKind, { typeUrl: TypeUrl; count: number; resources: SnapshotResourceView[] }>>;
  /**
   * Pass back as `?cursor=` for the next page; null on the last. A page covers one range of names across the
   * types, so no type holds more than `limit` resources and no name is skipped.
   */
  nextCursor: string | null;
}

export type SnapshotViewResult =
  | { ok: true; body: SnapshotResponse }
  | { ok: false; status: 400 | 404; error: string };

export interface SnapshotQuery {
  type?: string | null;
  name?: string | null;
  page: PageRequest;
}

/** `type` accepts cluster|endpoint|listener|route, CDS|EDS|LDS|RDS or a full type URL; `name` a resource name. */
export function snapshotView(snapshot: Snapshot, query: SnapshotQuery): SnapshotViewResult {
  let kinds: readonly ResourceKind[] = RESOURCE_KINDS;
  if (query.type !== undefined && query.type !== null) {
    const typeUrl = parseResourceType(query.type);
    if (!typeUrl) {
      return {
        ok: false,
        status: 400,
        error: `unknown type "${query.type}": use cluster, endpoint, listener, route or a full type URL`,
      };
    }
    kinds = [kindOf(typeUrl)];
  }
  const name = query.name ?? undefined;
  const { limit, cursor } = query.page;
  const remaining = new Map<ResourceKind, string[]>();
  const counts = new Map<ResourceKind, number>();
  for (const kind of kinds) {
    const resources = snapshot.resources.get(TYPE_URL[kind]);
    if (name !== undefined) {
      const found = resources?.has(name) && (cursor === undefined || compareNames(name, cursor) > 0);
      counts.set(kind, resources?.has(name) ? 1 : 0);
      remaining.set(kind, found ? [name] : []);
    } else {
      counts.set(kind, resources?.size ?? 0);
      remaining.set(kind, orderedNamesAfter(resources?.keys() ?? [], cursor));
    }
  }
  if (name !== undefined && [...counts.values()].every((n) => n === 0)) {
    return { ok: false, status: 404, error: `no resource named "${name}" in the served snapshot` };
  }
  const end = pageEndAcross(remaining.values(), limit);
  const types: SnapshotResponse['types'] = {};
  for (const kind of kinds) {
    const typeUrl = TYPE_URL[kind];
    const resources = snapshot.resources.get(typeUrl);
    const names = remaining.get(kind)!;
    const shown = namesUpTo(names, limit, end);
    types[kind] = {
      typeUrl,
      count: counts.get(kind)!,
      resources: shown.map((n) => {
        const resource = resources!.get(n)!;
        return { name: n, version: resource.version, bytes: resource.body.byteLength, resource: { '@type': typeUrl, ...resource.json } };
      }),
    };
  }
  return {
    ok: true,
    body: {
      version: snapshot.version,
      builtAt: snapshot.builtAt.toISOString(),
      changeSeenAt: snapshot.changeSeenAt !== undefined ? new Date(snapshot.changeSeenAt).toISOString() : null,
      types,
      nextCursor: end ?? null,
    },
  };
}
