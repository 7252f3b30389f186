// /debug/clients and /debug/clients/<stream or node>/resources: every connected stream, the view it receives, its
// sync state per type, and what a node would hold if it were fully in sync with the snapshot of its view.
import type { ResourceMap, TypeUrl } from '../snapshot/types.js';
import type { NodeInfo, StreamInfo, TypeStreamInfo, XdsApi, XdsProtocol } from '../xds/types.js';
import { compareNames, namesUpTo, orderedNamesAfter, pageEndAcross, takePage, type PageRequest } from './paging.js';
import { RESOURCE_KINDS, XDS_NAME, kindOf, type ResourceKind } from './resource-types.js';
import type { AdminState } from './state.js';
import { StreamViews, type StreamViewDescription } from './stream-views.js';
import type { ResourceExists } from './subscriptions.js';
import { emptyStatusCounts, missingNames, typeSyncStatus, worstStatus, type ViewSyncStatus } from './sync-status.js';
import { VIEW_MESSAGE_LIMIT, capNames, capNode, capText } from './view-limits.js';

export interface TypeStatusView {
  typeUrl: TypeUrl;
  /** CDS, EDS, LDS or RDS. */
  xds: string;
  wildcard: boolean;
  /** The first VIEW_NAMES_LIMIT names asked for by name, each cut to VIEW_STRING_LIMIT characters. */
  subscribed: string[];
  subscribedCount: number;
  /** Names asked for by name that the served snapshot does not hold (the client waits for them), capped likewise. */
  missing: string[];
  missingCount: number;
  lastSent: { version: string | null; nonce: string | null; at: string | null } | null;
  lastAcked: { version: string; at: string | null } | null;
  lastNack: { version: string; nonce: string; message: string; at: string } | null;
  /** The stream engine's status, or NOT_FOUND when it would say SYNCED (or NOT_SENT) while names are missing. */
  status: ViewSyncStatus;
  /** How long the last response has waited for its ACK (STALE only). */
  staleForMs: number | null;
}

export interface ClientView {
  streamId: string;
  /** As the client sent it, every string cut to VIEW_STRING_LIMIT characters. */
  node: NodeInfo | null;
  peer: string;
  connectedAt: string;
  protocol: XdsProtocol;
  api: XdsApi;
  /** The view the stream receives: proxyless (`grpc`), or an Envoy view with its port, gateway and dependencies. */
  view: StreamViewDescription | null;
  /** The worst of the per-type statuses: NACKED, STALE, NOT_FOUND, SYNCED; NOT_SENT when nothing was sent. */
  status: ViewSyncStatus;
  types: Partial<Record<ResourceKind, TypeStatusView>>;
}

export interface ClientsResponse {
  now: string;
  /** Over every stream the request's filter matches, not only this page. */
  summary: { streams: number; byStatus: Record<ViewSyncStatus, number> };
  clients: ClientView[];
  /** Pass back as `?cursor=` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface ClientResourceView {
  name: string;
  streamId: string;
  version: string;
  /** The version of this resource the client has ACKed, when known. */
  ackedVersion: string | null;
  acked: boolean;
  /** The resource as proto3 JSON, tagged with its type like an Any in Envoy's config_dump. */
  resource: Record<string, unknown>;
}

export interface ClientResourcesResponse {
  /** Whether the path named a stream id or a node id (a node may hold several streams, one per type API). */
  matchedBy: 'stream' | 'node';
  streamIds: string[];
  node: NodeInfo | null;
  /** The first matched stream's view and the version of its snapshot. */
  view: StreamViewDescription | null;
  snapshotVersion: string;
  /** Each matched stream's view (streams of one node normally share it). */
  streams: Array<{ streamId: string; view: StreamViewDescription | null; snapshotVersion: string }>;
  /** Per type, this page of the names the node holds or asks for: `count` is all of them. */
  types: Partial<
    Record<ResourceKind, { typeUrl: TypeUrl; wildcard: boolean; count: number; resources: ClientResourceView[]; missing: string[] }>
  >;
  /** Pass back as `?cursor=` for the next page; null on the last. */
  nextCursor: string | null;
}

function iso(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

function typeStatusView(info: TypeStreamInfo, exists: ResourceExists, now: number): TypeStatusView {
  const sent = info.lastSentVersion !== undefined || info.lastSentNonce !== undefined || info.lastSentAt !== undefined;
  const missing = missingNames(info, exists);
  const status = typeSyncStatus(info, missing.length);
  return {
    typeUrl: info.typeUrl,
    xds: XDS_NAME[kindOf(info.typeUrl)],
    wildcard: info.wildcard,
    subscribed: capNames(info.subscribed),
    subscribedCount: info.subscribed.length,
    missing: capNames(missing),
    missingCount: missing.length,
    lastSent: sent
      ? { version: info.lastSentVersion ?? null, nonce: info.lastSentNonce ?? null, at: iso(info.lastSentAt) }
      : null,
    lastAcked: info.lastAckedVersion !== undefined ? { version: info.lastAckedVersion, at: iso(info.lastAckedAt) } : null,
    lastNack: info.lastNack
      ? {
          version: info.lastNack.version,
          nonce: info.lastNack.nonce,
          message: capText(info.lastNack.message, VIEW_MESSAGE_LIMIT),
          at: info.lastNack.at.toISOString(),
        }
      : null,
    status,
    staleForMs: status === 'STALE' && info.lastSentAt ? Math.max(0, now - info.lastSentAt.getTime()) : null,
  };
}

/** A stream's status without building its whole view (the summary counts every stream). */
export function streamStatus(stream: StreamInfo, exists: ResourceExists): ViewSyncStatus {
  const statuses: ViewSyncStatus[] = [];
  for (const info of stream.types.values()) statuses.push(typeSyncStatus(info, missingNames(info, exists).length));
  return worstStatus(statuses);
}

export function clientView(stream: StreamInfo, views: StreamViews, now: number): ClientView {
  const exists = views.existsFor(stream);
  const types: Partial<Record<ResourceKind, TypeStatusView>> = {};
  for (const kind of RESOURCE_KINDS) {
    for (const info of stream.types.values()) {
      if (kindOf(info.typeUrl) === kind) types[kind] = typeStatusView(info, exists, now);
    }
  }
  return {
    streamId: stream.id,
    node: stream.node ? capNode(stream.node) : null,
    peer: capText(stream.peer),
    connectedAt: stream.connectedAt.toISOString(),
    protocol: stream.protocol,
    api: stream.api,
    view: views.describe(stream),
    status: worstStatus(Object.values(types).map((t) => t.status)),
    types,
  };
}

/** The order clients are listed in, and the cursor of a page: node id (as shown), then stream id. */
function clientOrderKey(stream: StreamInfo): string {
  return `${capText(stream.node?.id ?? '')}\u0000${stream.id}`;
}

export interface ClientsQuery {
  /** Only the streams of this node id. */
  node?: string;
  page: PageRequest;
}

export function clientsView(state: AdminState, query: ClientsQuery, now = Date.now()): ClientsResponse {
  const views = new StreamViews(state);
  const matching = state.streams().filter((stream) => query.node === undefined || stream.node?.id === query.node);
  const byStatus = emptyStatusCounts();
  for (const stream of matching) byStatus[streamStatus(stream, views.existsFor(stream))] += 1;
  const ordered = matching.map((stream) => ({ stream, key: clientOrderKey(stream) })).sort((a, b) => compareNames(a.key, b.key));
  const page = takePage(ordered, (entry) => entry.key, query.page);
  return {
    now: new Date(now).toISOString(),
    summary: { streams: matching.length, byStatus },
    clients: page.items.map(({ stream }) => clientView(stream, views, now)),
    nextCursor: page.nextCursor,
  };
}

interface TypeSources {
  typeUrl: TypeUrl;
  wildcard: boolean;
  /** Each matched stream's state for this type, its named subscriptions as a set, and its view's resources. */
  streams: Array<{ stream: StreamInfo; info: TypeStreamInfo; named: ReadonlySet<string>; available: ResourceMap | undefined }>;
}

/**
 * Streams matching `id` as a stream id, else as a node id; undefined when none does. Each stream's resources come
 * from the snapshot of its own view. One page of names per type (see pageEndAcross): a wildcard Envoy at fleet
 * scale would otherwise get every resource of the snapshot.
 */
export function clientResourcesView(state: AdminState, id: string, page: PageRequest): ClientResourcesResponse | undefined {
  const streams = state.streams();
  const byStream = streams.filter((s) => s.id === id);
  const matched = byStream.length > 0 ? byStream : streams.filter((s) => s.node?.id === id);
  if (matched.length === 0) return undefined;
  const views = new StreamViews(state);
  const sources = new Map<ResourceKind, TypeSources>();
  for (const kind of RESOURCE_KINDS) {
    for (const stream of matched) {
      for (const info of stream.types.values()) {
        if (kindOf(info.typeUrl) !== kind) continue;
        const entry = sources.get(kind) ?? { typeUrl: info.typeUrl, wildcard: false, streams: [] };
        entry.wildcard ||= info.wildcard;
        entry.streams.push({ stream, info, named: new Set(info.subscribed), available: views.snapshotOf(stream).resources.get(info.typeUrl) });
        sources.set(kind, entry);
      }
    }
  }
  const names = new Map<ResourceKind, string[]>();
  const counts = new Map<ResourceKind, number>();
  for (const [kind, entry] of sources) {
    const all = new Set<string>();
    for (const { info, available } of entry.streams) {
      if (info.wildcard) for (const name of available?.keys() ?? []) all.add(name);
      for (const name of info.subscribed) all.add(name);
    }
    counts.set(kind, all.size);
    names.set(kind, orderedNamesAfter(all, page.cursor));
  }
  const end = pageEndAcross(names.values(), page.limit);
  const types: ClientResourcesResponse['types'] = {};
  for (const [kind, entry] of sources) {
    const view = { typeUrl: entry.typeUrl, wildcard: entry.wildcard, count: counts.get(kind)!, resources: [] as ClientResourceView[], missing: [] as string[] };
    for (const name of namesUpTo(names.get(kind)!, page.limit, end)) {
      let missing = false;
      for (const { stream, info, named, available } of entry.streams) {
        const resource = available?.get(name);
        // Asked for by name and not in the stream's view: the client waits for it.
        if (!resource) missing ||= named.has(name);
        if (!resource || (!info.wildcard && !named.has(name))) continue;
        const ackedVersion = info.acked.get(name) ?? null;
        view.resources.push({
          name,
          streamId: stream.id,
          version: resource.version,
          ackedVersion,
          acked: ackedVersion === resource.version,
          resource: { '@type': entry.typeUrl, ...resource.json },
        });
      }
      if (missing) view.missing.push(capText(name));
    }
    types[kind] = view;
  }
  return {
    matchedBy: byStream.length > 0 ? 'stream' : 'node',
    streamIds: matched.map((s) => s.id),
    node: matched[0]?.node ? capNode(matched[0].node) : null,
    view: views.describe(matched[0]!),
    snapshotVersion: views.snapshotOf(matched[0]!).version,
    streams: matched.map((stream) => ({ streamId: stream.id, view: views.describe(stream), snapshotVersion: views.snapshotOf(stream).version })),
    types,
    nextCursor: end ?? null,
  };
}
