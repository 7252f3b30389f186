// Who watches what: a stream watches a resource when it names it, or when it subscribes to the whole type
// (wildcard) and the resource exists — a wildcard covers what is served, not every name one could think of.
import { TYPE_URL, type Snapshot, type TypeUrl } from '../snapshot/types.js';
import type { StreamInfo, XdsApi, XdsProtocol } from '../xds/types.js';
import { RESOURCE_KINDS, type ResourceKind } from './resource-types.js';
import { capNode, capText } from './view-limits.js';

/** The node behind a stream, as the admin API shows it. */
export interface NodeView {
  streamId: string;
  nodeId: string | null;
  cluster: string | null;
  locality: { region?: string; zone?: string; subZone?: string } | null;
  peer: string;
  protocol: XdsProtocol;
  api: XdsApi;
}

export interface SubscriberView extends NodeView {
  /** True when the stream subscribes to every resource of the type rather than naming this one. */
  wildcard: boolean;
}

export function nodeView(stream: StreamInfo): NodeView {
  return {
    streamId: stream.id,
    nodeId: stream.node ? capText(stream.node.id) : null,
    cluster: stream.node ? capText(stream.node.cluster) : null,
    locality: stream.node ? capNode(stream.node).locality : null,
    peer: capText(stream.peer),
    protocol: stream.protocol,
    api: stream.api,
  };
}

/** Whether the served snapshot holds a resource of this type and name. */
export type ResourceExists = (typeUrl: TypeUrl, name: string) => boolean;
/** Existence as a stream sees it: in the snapshot of the stream's own view (see stream-views.ts). */
export type ExistsFor = (stream: StreamInfo) => ResourceExists;

export function resourceExistsIn(snapshot: Snapshot): ResourceExists {
  return (typeUrl, name) => snapshot.resources.get(typeUrl)?.has(name) ?? false;
}

/** How `stream` watches `name` of `typeUrl`: 'named', 'wildcard', or undefined when it does not. */
export function watchMode(
  stream: StreamInfo,
  typeUrl: TypeUrl,
  name: string,
  exists: ResourceExists,
): 'named' | 'wildcard' | undefined {
  const info = stream.types.get(typeUrl);
  if (!info) return undefined;
  if (info.subscribed.includes(name)) return 'named';
  return info.wildcard && exists(typeUrl, name) ? 'wildcard' : undefined;
}

/** Per kind, the streams that watch the resource named after `service` (every resource of a service is). */
export function subscribersOf(
  streams: readonly StreamInfo[],
  service: string,
  existsFor: ExistsFor,
): Record<ResourceKind, SubscriberView[]> {
  const byKind = Object.fromEntries(RESOURCE_KINDS.map((kind) => [kind, [] as SubscriberView[]])) as Record<
    ResourceKind,
    SubscriberView[]
  >;
  for (const stream of streams) {
    const exists = existsFor(stream);
    for (const kind of RESOURCE_KINDS) {
      const mode = watchMode(stream, TYPE_URL[kind], service, exists);
      if (mode) byKind[kind].push({ ...nodeView(stream), wildcard: mode === 'wildcard' });
    }
  }
  return byKind;
}

/**
 * For each of `services`, the number of distinct streams watching any of its resources. One pass over each
 * stream's named subscriptions, so a page of services costs what the streams ask for, not pages × streams × names.
 */
export function subscriberCounts(
  streams: readonly StreamInfo[],
  services: ReadonlySet<string>,
  existsFor: ExistsFor,
): Map<string, number> {
  const counts = new Map<string, number>();
  const watched = new Set<string>();
  for (const stream of streams) {
    watched.clear();
    const exists = existsFor(stream);
    for (const info of stream.types.values()) {
      for (const name of info.subscribed) if (services.has(name)) watched.add(name);
      if (!info.wildcard) continue;
      for (const name of services) if (exists(info.typeUrl, name)) watched.add(name);
    }
    for (const name of watched) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}
