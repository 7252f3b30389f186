// Who watches what: a stream watches a resource when it names it, or when it subscribes to the whole type
// (wildcard) and the resource exists — a wildcard covers what is served, not every name one could think of.
import { TYPE_URL, type Snapshot, type TypeUrl } from '../snapshot/types.js';
import type { StreamInfo, XdsApi, XdsProtocol } from '../xds/types.js';
import { RESOURCE_KINDS, type ResourceKind } from './resource-types.js';

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
    nodeId: stream.node?.id ?? null,
    cluster: stream.node?.cluster ?? null,
    locality: stream.node?.locality ?? null,
    peer: stream.peer,
    protocol: stream.protocol,
    api: stream.api,
  };
}

/** Whether the served snapshot holds a resource of this type and name. */
export type ResourceExists = (typeUrl: TypeUrl, name: string) => boolean;

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
  exists: ResourceExists,
): Record<ResourceKind, SubscriberView[]> {
  const byKind = Object.fromEntries(RESOURCE_KINDS.map((kind) => [kind, [] as SubscriberView[]])) as Record<
    ResourceKind,
    SubscriberView[]
  >;
  for (const stream of streams) {
    for (const kind of RESOURCE_KINDS) {
      const mode = watchMode(stream, TYPE_URL[kind], service, exists);
      if (mode) byKind[kind].push({ ...nodeView(stream), wildcard: mode === 'wildcard' });
    }
  }
  return byKind;
}

/** Number of distinct streams watching any resource of `service`. */
export function subscriberCount(streams: readonly StreamInfo[], service: string, exists: ResourceExists): number {
  let count = 0;
  for (const stream of streams) {
    if (RESOURCE_KINDS.some((kind) => watchMode(stream, TYPE_URL[kind], service, exists))) count += 1;
  }
  return count;
}
