// Short names for the four resource types, as people type and read them (`?type=endpoint`, "EDS NACKED").
import { PUSH_ORDER, TYPE_URL, isTypeUrl, type TypeUrl } from '../snapshot/types.js';

export type ResourceKind = keyof typeof TYPE_URL;

/** The four kinds in push order (cluster, endpoint, listener, route). */
export const RESOURCE_KINDS: readonly ResourceKind[] = PUSH_ORDER.map(kindOf);

/** The xDS service name people associate with each kind. */
export const XDS_NAME: Readonly<Record<ResourceKind, string>> = {
  cluster: 'CDS',
  endpoint: 'EDS',
  listener: 'LDS',
  route: 'RDS',
};

export function kindOf(typeUrl: TypeUrl): ResourceKind {
  for (const [kind, url] of Object.entries(TYPE_URL) as [ResourceKind, TypeUrl][]) {
    if (url === typeUrl) return kind;
  }
  throw new Error(`unknown type URL ${typeUrl}`);
}

/**
 * Parses a `?type=` value: a kind (`cluster`), an xDS name (`CDS`) or a full type URL. Returns undefined when
 * it is none of them.
 */
export function parseResourceType(value: string): TypeUrl | undefined {
  if (isTypeUrl(value)) return value;
  const lower = value.trim().toLowerCase();
  for (const kind of RESOURCE_KINDS) {
    if (lower === kind || lower === XDS_NAME[kind].toLowerCase()) return TYPE_URL[kind];
  }
  return undefined;
}
