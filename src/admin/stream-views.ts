// The view each stream receives, as one admin request sees it: a node is judged against the snapshot of its own
// view (an Envoy's socket listener and RouteConfiguration are not in the proxyless snapshot, and a scoped Envoy
// holds only some clusters). Each view's snapshot and spec are read once per request, however many streams share it.
import type { Snapshot } from '../snapshot/types.js';
import { viewSpecOf, type ViewSpec } from '../views/node-view.js';
import type { StreamInfo } from '../xds/types.js';
import type { AdminState } from './state.js';
import { resourceExistsIn, type ExistsFor, type ResourceExists } from './subscriptions.js';
import { VIEW_NAMES_LIMIT, capNames, capText } from './view-limits.js';

/** A stream's view as the admin API shows it. */
export type StreamViewDescription =
  | { kind: 'grpc' }
  | {
      kind: 'envoy';
      /** The listener port when no gateway listener says otherwise. */
      port: number;
      gateway: string | null;
      /** The first VIEW_NAMES_LIMIT services the node declared it depends on; null when it declared none. */
      dependsOn: string[] | null;
      dependsOnCount: number | null;
    };

export function describeViewSpec(spec: ViewSpec): StreamViewDescription {
  if (spec.client === 'grpc') return { kind: 'grpc' };
  return {
    kind: 'envoy',
    port: spec.port,
    gateway: spec.gateway !== undefined ? capText(spec.gateway) : null,
    dependsOn: spec.dependsOn ? capNames(spec.dependsOn.slice(0, VIEW_NAMES_LIMIT)) : null,
    dependsOnCount: spec.dependsOn ? spec.dependsOn.length : null,
  };
}

export class StreamViews {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly exists = new Map<string, ResourceExists>();
  private readonly specs = new Map<string, ViewSpec | undefined>();
  private readonly descriptions = new Map<string, StreamViewDescription | null>();

  constructor(private readonly state: AdminState) {}

  snapshotOf(stream: StreamInfo): Snapshot {
    let snapshot = this.snapshots.get(stream.view);
    if (!snapshot) {
      snapshot = this.state.snapshot(stream.view);
      this.snapshots.set(stream.view, snapshot);
    }
    return snapshot;
  }

  /** Whether the stream's own view holds a resource (bound, so it can be handed on as an ExistsFor). */
  readonly existsFor: ExistsFor = (stream) => {
    let exists = this.exists.get(stream.view);
    if (!exists) {
      exists = resourceExistsIn(this.snapshotOf(stream));
      this.exists.set(stream.view, exists);
    }
    return exists;
  };

  /** Undefined only for a key no view has (the stream engine always holds one made by viewKeyOf). */
  specOf(stream: StreamInfo): ViewSpec | undefined {
    if (!this.specs.has(stream.view)) this.specs.set(stream.view, viewSpecOf(stream.view));
    return this.specs.get(stream.view);
  }

  describe(stream: StreamInfo): StreamViewDescription | null {
    let description = this.descriptions.get(stream.view);
    if (description === undefined) {
      const spec = this.specOf(stream);
      description = spec ? describeViewSpec(spec) : null;
      this.descriptions.set(stream.view, description);
    }
    return description;
  }
}
