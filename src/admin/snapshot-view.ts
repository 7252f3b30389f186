// /debug/snapshot: the resources the xDS server serves right now, per type, with versions and proto3 JSON.
import { TYPE_URL, type Snapshot, type TypeUrl } from '../snapshot/types.js';
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
  types: Partial<Record<ResourceKind, { typeUrl: TypeUrl; count: number; resources: SnapshotResourceView[] }>>;
}

export type SnapshotViewResult =
  | { ok: true; body: SnapshotResponse }
  | { ok: false; status: 400 | 404; error: string };

/** `type` accepts cluster|endpoint|listener|route, CDS|EDS|LDS|RDS or a full type URL; `name` a resource name. */
export function snapshotView(snapshot: Snapshot, query: { type?: string | null; name?: string | null }): SnapshotViewResult {
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
  const types: SnapshotResponse['types'] = {};
  let matches = 0;
  for (const kind of kinds) {
    const typeUrl = TYPE_URL[kind];
    const resources = [...(snapshot.resources.get(typeUrl)?.values() ?? [])]
      .filter((resource) => name === undefined || resource.name === name)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((resource) => ({
        name: resource.name,
        version: resource.version,
        bytes: resource.body.byteLength,
        resource: { '@type': typeUrl, ...resource.json },
      }));
    matches += resources.length;
    types[kind] = { typeUrl, count: resources.length, resources };
  }
  if (name !== undefined && matches === 0) {
    return { ok: false, status: 404, error: `no resource named "${name}" in the served snapshot` };
  }
  return {
    ok: true,
    body: {
      version: snapshot.version,
      builtAt: snapshot.builtAt.toISOString(),
      changeSeenAt: snapshot.changeSeenAt !== undefined ? new Date(snapshot.changeSeenAt).toISOString() : null,
      types,
    },
  };
}
