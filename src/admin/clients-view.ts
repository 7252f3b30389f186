// /debug/clients and /debug/clients/<stream or node>/resources: every connected stream, its sync state per type,
// and what a node would hold if it were fully in sync with the served snapshot.
import type { Snapshot, TypeUrl } from '../snapshot/types.js';
import type { NodeInfo, StreamInfo, SyncStatus, TypeStreamInfo, XdsApi, XdsProtocol } from '../xds/types.js';
import { RESOURCE_KINDS, XDS_NAME, kindOf, type ResourceKind } from './resource-types.js';
import type { AdminState } from './state.js';

export const SYNC_STATUSES: readonly SyncStatus[] = ['SYNCED', 'STALE', 'NACKED', 'NOT_SENT'];

export interface TypeStatusView {
  typeUrl: TypeUrl;
  /** CDS, EDS, LDS or RDS. */
  xds: string;
  wildcard: boolean;
  subscribed: string[];
  lastSent: { version: string | null; nonce: string | null; at: string | null } | null;
  lastAcked: { version: string; at: string | null } | null;
  lastNack: { version: string; nonce: string; message: string; at: string } | null;
  status: SyncStatus;
  /** How long the last response has waited for its ACK (STALE only). */
  staleForMs: number | null;
}

export interface ClientView {
  streamId: string;
  node: NodeInfo | null;
  peer: string;
  connectedAt: string;
  protocol: XdsProtocol;
  api: XdsApi;
  /** The worst of the per-type statuses: NACKED, then STALE, then SYNCED; NOT_SENT when nothing was sent. */
  status: SyncStatus;
  types: Partial<Record<ResourceKind, TypeStatusView>>;
}

export interface ClientsResponse {
  now: string;
  summary: { streams: number; byStatus: Record<SyncStatus, number> };
  clients: ClientView[];
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
  snapshotVersion: string;
  types: Partial<
    Record<ResourceKind, { typeUrl: TypeUrl; wildcard: boolean; resources: ClientResourceView[]; missing: string[] }>
  >;
}

function iso(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

function typeStatusView(info: TypeStreamInfo, now: number): TypeStatusView {
  const sent = info.lastSentVersion !== undefined || info.lastSentNonce !== undefined || info.lastSentAt !== undefined;
  return {
    typeUrl: info.typeUrl,
    xds: XDS_NAME[kindOf(info.typeUrl)],
    wildcard: info.wildcard,
    subscribed: [...info.subscribed],
    lastSent: sent
      ? { version: info.lastSentVersion ?? null, nonce: info.lastSentNonce ?? null, at: iso(info.lastSentAt) }
      : null,
    lastAcked: info.lastAckedVersion !== undefined ? { version: info.lastAckedVersion, at: iso(info.lastAckedAt) } : null,
    lastNack: info.lastNack
      ? {
          version: info.lastNack.version,
          nonce: info.lastNack.nonce,
          message: info.lastNack.message,
          at: info.lastNack.at.toISOString(),
        }
      : null,
    status: info.status,
    staleForMs: info.status === 'STALE' && info.lastSentAt ? Math.max(0, now - info.lastSentAt.getTime()) : null,
  };
}

function overallStatus(statuses: SyncStatus[]): SyncStatus {
  for (const status of ['NACKED', 'STALE', 'SYNCED'] as const) {
    if (statuses.includes(status)) return status;
  }
  return 'NOT_SENT';
}

export function clientView(stream: StreamInfo, now: number): ClientView {
  const types: Partial<Record<ResourceKind, TypeStatusView>> = {};
  for (const kind of RESOURCE_KINDS) {
    for (const info of stream.types.values()) {
      if (kindOf(info.typeUrl) === kind) types[kind] = typeStatusView(info, now);
    }
  }
  return {
    streamId: stream.id,
    node: stream.node ?? null,
    peer: stream.peer,
    connectedAt: stream.connectedAt.toISOString(),
    protocol: stream.protocol,
    api: stream.api,
    status: overallStatus([...stream.types.values()].map((info) => info.status)),
    types,
  };
}

export function clientsView(state: AdminState, now = Date.now()): ClientsResponse {
  const clients = state
    .streams()
    .map((stream) => clientView(stream, now))
    .sort((a, b) => {
      const byNode = (a.node?.id ?? '').localeCompare(b.node?.id ?? '');
      return byNode !== 0 ? byNode : a.streamId.localeCompare(b.streamId);
    });
  const byStatus = Object.fromEntries(SYNC_STATUSES.map((s) => [s, 0])) as Record<SyncStatus, number>;
  for (const client of clients) byStatus[client.status] += 1;
  return { now: new Date(now).toISOString(), summary: { streams: clients.length, byStatus }, clients };
}

/**
 * What a stream holds of one resource. SotW streams may only track the whole-snapshot version they ACKed: when
 * that is the served snapshot's version, every resource they receive is the current one.
 */
function ackedVersionOf(
  stream: StreamInfo,
  info: TypeStreamInfo,
  name: string,
  snapshot: Snapshot,
  version: string,
): string | null {
  const perResource = info.acked.get(name);
  if (perResource !== undefined) return perResource;
  if (stream.protocol === 'sotw' && info.lastAckedVersion === snapshot.version) return version;
  return null;
}

/** Streams matching `id` as a stream id, else as a node id; undefined when none does. */
export function clientResourcesView(state: AdminState, id: string): ClientResourcesResponse | undefined {
  const streams = state.streams();
  const byStream = streams.filter((s) => s.id === id);
  const matched = byStream.length > 0 ? byStream : streams.filter((s) => s.node?.id === id);
  if (matched.length === 0) return undefined;
  const snapshot = state.snapshot();
  const types: ClientResourcesResponse['types'] = {};
  for (const kind of RESOURCE_KINDS) {
    for (const stream of matched) {
      for (const info of stream.types.values()) {
        if (kindOf(info.typeUrl) !== kind) continue;
        const entry = (types[kind] ??= { typeUrl: info.typeUrl, wildcard: false, resources: [], missing: [] });
        entry.wildcard ||= info.wildcard;
        const available = snapshot.resources.get(info.typeUrl) ?? new Map();
        const names = info.wildcard ? [...new Set([...available.keys(), ...info.subscribed])] : info.subscribed;
        for (const name of [...names].sort()) {
          const resource = available.get(name);
          if (!resource) {
            entry.missing.push(name);
            continue;
          }
          const ackedVersion = ackedVersionOf(stream, info, name, snapshot, resource.version);
          entry.resources.push({
            name,
            streamId: stream.id,
            version: resource.version,
            ackedVersion,
            acked: ackedVersion === resource.version,
            resource: { '@type': info.typeUrl, ...resource.json },
          });
        }
      }
    }
  }
  return {
    matchedBy: byStream.length > 0 ? 'stream' : 'node',
    streamIds: matched.map((s) => s.id),
    node: matched[0]?.node ?? null,
    snapshotVersion: snapshot.version,
    types,
  };
}
