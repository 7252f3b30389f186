// What the snapshot stage hands to the xDS server: every resource encoded once, with a content-derived version.
import type { SortedMapView } from '../sorted-map.js';

export const TYPE_URL = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;

export type TypeUrl = (typeof TYPE_URL)[keyof typeof TYPE_URL];

/** Order in which a push across types is written, so Envoy's cluster and listener warming complete. */
export const PUSH_ORDER: readonly TypeUrl[] = [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route];

export function isTypeUrl(value: string): value is TypeUrl {
  return (PUSH_ORDER as readonly string[]).includes(value);
}

/** One resource as it goes on the wire: the bytes of the message inside google.protobuf.Any. */
export interface EncodedResource {
  readonly typeUrl: TypeUrl;
  readonly name: string;
  /** Derived from the encoded bytes: equal content, equal version, on every replica. */
  readonly version: string;
  /**
   * 64 bits derived from name and version: set versions are the sum of their members' digests, an
   * order-independent combination that is updated from the changed resources alone.
   */
  readonly digest: bigint;
  /** The serialized resource message (Any.value), shared by every stream that receives it. */
  readonly body: Uint8Array;
  /** The same resource as proto3 JSON, for the debug API. */
  readonly json: Record<string, unknown>;
}

/** name → resource, in name order; consecutive snapshots share every unchanged resource and tree node. */
export type ResourceMap = SortedMapView<string, EncodedResource>;

/** A consistent set of resources of every type. Never mutated once published. */
export interface Snapshot {
  /** Content-derived version of the whole snapshot (delta system_version_info): equal on every replica. */
  readonly version: string;
  readonly resources: ReadonlyMap<TypeUrl, ResourceMap>;
  /** Per type, the version of the whole set (what contentSetVersion gives for every resource of the type). */
  readonly typeVersions: ReadonlyMap<TypeUrl, string>;
  readonly builtAt: Date;
  /**
   * When the oldest registry change folded into this snapshot was seen (for push-latency metrics);
   * undefined for snapshots not caused by a change (the initial one).
   */
  readonly changeSeenAt?: number;
}

/** Names whose resources differ between two snapshots, per type (added, changed or removed). */
export type SnapshotDiff = ReadonlyMap<TypeUrl, ReadonlySet<string>>;

/** The view every node gets unless the source says otherwise: the proxyless resources, one set per service. */
export const DEFAULT_VIEW = 'grpc';

/** One view's snapshot and what changed in it, as published alongside the default view. */
export interface ViewUpdate {
  snapshot: Snapshot;
  diff: SnapshotDiff;
}

/** What a node says about itself that decides its view. */
export interface ViewNode {
  id: string;
  cluster: string;
  userAgentName: string;
  metadata?: Readonly<Record<string, unknown>>;
}

export type SnapshotListener = (snapshot: Snapshot, diff: SnapshotDiff, views?: ReadonlyMap<string, ViewUpdate>, regroup?: boolean) => void;

/** The xDS server reads resources through this; snapshot/ implements it, xds/ never sees etcd. */
export interface SnapshotSource {
  /** The snapshot of a view (the default view when none is named). */
  current(view?: string): Snapshot;
  /**
   * A stream of `node` starts receiving the view the node is owed (nodes of a group share one) and holds it until
   * `leaveView`; absent: everyone gets the default view. A view no stream holds is dropped.
   */
  enterView?(node: ViewNode): string;
  leaveView?(view: string): void;
  /**
   * Called after each new snapshot is published, with the default view's snapshot and diff, and the other views
   * that changed; returns an unsubscribe function. `regroup`: a Gateway changed, so a node may now be owed another
   * view: streams ask `enterView` again.
   */
  onSnapshot(listener: SnapshotListener): () => void;
}
