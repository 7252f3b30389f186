// The stream engine: one per xDS stream, whatever its protocol (SotW or delta) or API (ADS or per-type). It
// applies requests to the subscriptions, tells ACKs from NACKs, and decides what the stream is owed after a
// request or a new snapshot. Framing and I/O live elsewhere; this module only decides.
import { PUSH_ORDER, TYPE_URL, isTypeUrl, type Snapshot, type SnapshotDiff, type TypeUrl } from '../snapshot/types.js';
import { contentSetVersion } from '../snapshot/encode.js';
import { Subscription, isFullStateType } from './subscription.js';
import type { NackRecord, NodeInfo, StreamInfo, SyncStatus, TypeStreamInfo, XdsApi, XdsProtocol } from './types.js';
import type { XdsRequest, XdsResponse } from './wire.js';

/** A change to a cluster (listener) makes Envoy re-warm it and wait for its assignment (route configuration). */
const DEPENDENT_TYPE: Partial<Record<TypeUrl, TypeUrl>> = {
  [TYPE_URL.cluster]: TYPE_URL.endpoint,
  [TYPE_URL.listener]: TYPE_URL.route,
};

interface SentResponse {
  version: string;
  at: Date;
  /** name → version carried, for the ACKed view of the client. */
  resources: Map<string, string>;
}

class TypeState {
  readonly subscription: Subscription;
  /** Responses awaiting ACK/NACK by nonce (SotW keeps only the latest; delta may have several in flight). */
  readonly inFlight = new Map<string, SentResponse>();
  lastSentNonce?: string;
  lastSent?: SentResponse;
  lastAckedVersion?: string;
  lastAckedAt?: Date;
  lastNack?: NackRecord;
  /** Outcome of the latest response: undefined while it is in flight. */
  latestOutcome?: 'ack' | 'nack';
  readonly acked = new Map<string, string>();

  constructor(typeUrl: TypeUrl) {
    this.subscription = new Subscription(typeUrl);
  }
}

/** Client features (Node.client_features) that opt a stream into resource TTLs and heartbeats. */
export const FEATURE_RESOURCE_TTL = 'xds.config.supports-resource-ttl';
export const FEATURE_RESOURCE_IN_SOTW = 'xds.config.resource-in-sotw';

export interface StreamObserver {
  sent(response: XdsResponse, changeSeenAt: number | undefined): void;
  acked(typeUrl: TypeUrl): void;
  nacked(typeUrl: TypeUrl, nack: NackRecord): void;
  ignored(reason: string, request: XdsRequest): void;
}

export class StreamEngine {
  private readonly types = new Map<TypeUrl, TypeState>();
  private node: NodeInfo | undefined;
  private nonceCounter = 0;
  readonly connectedAt = new Date();

  constructor(
    readonly id: string,
    readonly protocol: XdsProtocol,
    readonly api: XdsApi,
    readonly peer: string,
    /** Per-type services serve one type; ADS serves all. */
    private readonly fixedType: TypeUrl | undefined,
    private readonly observer: StreamObserver,
    /** Resource TTL offered to clients that support it (0 = off). */
    private readonly resourceTtlMs = 0,
  ) {}

  /** TTLs need the client's support, and in SotW also its support for Resource wrappers that carry them. */
  private ttlMs(): number | undefined {
    const features = this.node?.clientFeatures ?? [];
    if (!this.resourceTtlMs || !features.includes(FEATURE_RESOURCE_TTL)) return undefined;
    if (this.protocol === 'sotw' && !features.includes(FEATURE_RESOURCE_IN_SOTW)) return undefined;
    return this.resourceTtlMs;
  }

  /**
   * Heartbeats for clients using resource TTLs: the resources they hold at the current version, without bodies,
   * so their TTL is renewed while this control plane is alive. Resources that changed are pushed normally instead.
   */
  heartbeat(snapshot: Snapshot): XdsResponse[] {
    const ttlMs = this.ttlMs();
    if (ttlMs === undefined) return [];
    const responses: XdsResponse[] = [];
    for (const typeUrl of PUSH_ORDER) {
      const state = this.types.get(typeUrl);
      if (!state?.subscription.requested || !state.lastSent) continue;
      const sub = state.subscription;
      const resources = snapshot.resources.get(typeUrl) ?? new Map();
      const held = [...sub.known].flatMap(([name, version]) => {
        const resource = resources.get(name);
        return resource && resource.version === version ? [resource] : [];
      });
      if (held.length === 0) continue;
      // SotW: a heartbeat is a complete response, so send one only while the client holds the current content.
      if (this.protocol === 'sotw' && sub.sotwDiffers(sub.current(resources))) continue;
      const version = this.protocol === 'sotw' ? state.lastSent.version : snapshot.version;
      const response: XdsResponse = { typeUrl, nonce: this.nextNonce(), version, resources: held, removed: [], ttlMs, heartbeat: true };
      responses.push(this.track(state, response, this.protocol === 'sotw', held));
    }
    for (const response of responses) this.observer.sent(response, undefined);
    return responses;
  }

  /** Applies one request and returns the responses now owed, in push order. */
  handleRequest(request: XdsRequest, snapshot: Snapshot): XdsResponse[] {
    if (request.node && !this.node) this.node = request.node;
    const typeUrl = request.typeUrl || this.fixedType;
    if (!typeUrl || !isTypeUrl(typeUrl) || (this.fixedType && typeUrl !== this.fixedType)) {
      this.observer.ignored(`unsupported type_url ${JSON.stringify(request.typeUrl)}`, request);
      return [];
    }
    const state = this.stateOf(typeUrl);
    const answersInFlight = request.nonce !== '' && state.inFlight.has(request.nonce);
    // Stale: the nonce of a response older than the latest, so the client has not seen the latest yet. The latest
    // nonce stays current after its ACK: clients send later subscription changes with it.
    const stale = request.nonce !== '' && !answersInFlight && request.nonce !== state.lastSentNonce;

    if (answersInFlight) this.recordOutcome(typeUrl, state, request);

    let force = false;
    if (this.protocol === 'sotw') {
      // SotW: a request with a stale nonce is ignored entirely; its subscription will be repeated with the new nonce.
      if (stale) {
        this.observer.ignored(`stale nonce ${request.nonce}`, request);
        return [];
      }
      const changed = state.subscription.setSotwNames(request.resourceNames ?? []);
      // A new stream (empty nonce) or a changed subscription is answered at once, even with unchanged content.
      force = changed || request.nonce === '';
    } else {
      // Delta: subscription changes apply even with a stale nonce.
      state.subscription.applyDelta(request.subscribe ?? [], request.unsubscribe ?? [], request.initialVersions);
    }
    return this.respond(snapshot, [typeUrl], force);
  }

  /** A new snapshot: the responses this stream is owed, if any resource it follows changed. */
  handleSnapshot(snapshot: Snapshot, diff: SnapshotDiff): XdsResponse[] {
    const affected = PUSH_ORDER.filter((typeUrl) => {
      const state = this.types.get(typeUrl);
      const changed = diff.get(typeUrl);
      if (!state?.subscription.requested || !changed) return false;
      const sub = state.subscription;
      for (const name of changed) if (sub.covers(name) || sub.known.has(name)) return true;
      return false;
    });
    return affected.length ? this.respond(snapshot, affected, false) : [];
  }

  /** Everything that differs from what the client holds, on every requested type (after pushes were held back). */
  catchUp(snapshot: Snapshot): XdsResponse[] {
    return this.respond(snapshot, [...PUSH_ORDER], false);
  }

  private respond(snapshot: Snapshot, typeUrls: TypeUrl[], force: boolean): XdsResponse[] {
    const responses: XdsResponse[] = [];
    const pending = new Set(typeUrls);
    for (const typeUrl of PUSH_ORDER) {
      if (!pending.has(typeUrl)) continue;
      const state = this.types.get(typeUrl);
      if (!state?.subscription.requested) continue;
      const dependent = DEPENDENT_TYPE[typeUrl];
      const dependentSub = dependent && this.types.get(dependent)?.subscription;
      // What the client held before, to tell which clusters (listeners) changed: only needed with a dependent type.
      const before = dependentSub?.requested ? new Map(state.subscription.known) : undefined;
      const response = this.protocol === 'sotw' ? this.sotwResponse(typeUrl, state, snapshot, force) : this.deltaResponse(typeUrl, state, snapshot);
      if (!response) continue;
      responses.push(response);
      if (dependent && dependentSub && before) {
        for (const resource of response.resources) {
          if (before.get(resource.name) !== resource.version && dependentSub.covers(resource.name)) dependentSub.forget(resource.name);
        }
        pending.add(dependent);
      }
    }
    const ttlMs = this.ttlMs();
    for (const response of responses) {
      if (ttlMs !== undefined) response.ttlMs = ttlMs;
      this.observer.sent(response, snapshot.changeSeenAt);
    }
    return responses;
  }

  private sotwResponse(typeUrl: TypeUrl, state: TypeState, snapshot: Snapshot, force: boolean): XdsResponse | undefined {
    const sub = state.subscription;
    const content = sub.current(snapshot.resources.get(typeUrl) ?? new Map());
    if (!force && !sub.sotwDiffers(content)) return undefined;
    // Named types (EDS/RDS): nothing to say about names that do not exist yet; they are sent when they appear.
    if (content.length === 0 && !sub.wildcard && !isFullStateType(typeUrl) && sub.known.size === 0) return undefined;
    // EDS/RDS responses need not repeat unchanged resources (clients keep what a response leaves out), so a push
    // after one service changed carries that service alone. CDS/LDS responses are the full set by definition.
    const changedOnly = !force && !isFullStateType(typeUrl);
    const resources = changedOnly ? content.filter((r) => sub.known.get(r.name) !== r.version) : content;
    sub.recordSotwSent(content);
    // An empty CDS/LDS response is meaningful (every resource is gone); an empty EDS/RDS one says nothing.
    if (resources.length === 0 && !isFullStateType(typeUrl)) return undefined;
    // The version describes everything the client holds after this response, whatever part of it was sent.
    const version = contentSetVersion(content);
    return this.track(state, { typeUrl, nonce: this.nextNonce(), version, resources, removed: [] }, true, content);
  }

  private deltaResponse(typeUrl: TypeUrl, state: TypeState, snapshot: Snapshot): XdsResponse | undefined {
    const sub = state.subscription;
    const { updated, removed } = sub.deltaOwed(snapshot.resources.get(typeUrl) ?? new Map());
    if (updated.length === 0 && removed.length === 0) return undefined;
    sub.recordDeltaSent(updated, removed);
    return this.track(state, { typeUrl, nonce: this.nextNonce(), version: snapshot.version, resources: updated, removed }, false);
  }

  /** `holds`: what the client holds once it applies the response (SotW), when that is more than was sent. */
  private track(state: TypeState, response: XdsResponse, replacesInFlight: boolean, holds = response.resources): XdsResponse {
    const sent: SentResponse = { version: response.version, at: new Date(), resources: new Map(holds.map((r) => [r.name, r.version])) };
    // SotW: only the latest nonce is current. Delta: older responses may still be ACKed individually.
    if (replacesInFlight) state.inFlight.clear();
    state.inFlight.set(response.nonce, sent);
    state.lastSentNonce = response.nonce;
    state.lastSent = sent;
    state.latestOutcome = undefined;
    return response;
  }

  private recordOutcome(typeUrl: TypeUrl, state: TypeState, request: XdsRequest): void {
    const sent = state.inFlight.get(request.nonce)!;
    const isLatest = request.nonce === state.lastSentNonce;
    // Everything sent before the answered response has been processed by the client too.
    for (const nonce of state.inFlight.keys()) {
      state.inFlight.delete(nonce);
      if (nonce === request.nonce) break;
    }
    if (request.errorMessage !== undefined) {
      const nack: NackRecord = { version: sent.version, nonce: request.nonce, message: request.errorMessage, at: new Date() };
      state.lastNack = nack;
      if (isLatest) state.latestOutcome = 'nack';
      this.observer.nacked(typeUrl, nack);
      return;
    }
    if (this.protocol === 'sotw') state.acked.clear();
    for (const [name, version] of sent.resources) state.acked.set(name, version);
    state.lastAckedVersion = sent.version;
    state.lastAckedAt = new Date();
    if (isLatest) state.latestOutcome = 'ack';
    this.observer.acked(typeUrl);
  }

  private stateOf(typeUrl: TypeUrl): TypeState {
    let state = this.types.get(typeUrl);
    if (!state) {
      state = new TypeState(typeUrl);
      this.types.set(typeUrl, state);
    }
    return state;
  }

  private nextNonce(): string {
    this.nonceCounter += 1;
    return `${this.id}-${this.nonceCounter}`;
  }

  info(): StreamInfo {
    const types = new Map<TypeUrl, TypeStreamInfo>();
    for (const [typeUrl, state] of this.types) {
      const status: SyncStatus =
        state.lastSentNonce === undefined ? 'NOT_SENT' : state.latestOutcome === 'ack' ? 'SYNCED' : state.latestOutcome === 'nack' ? 'NACKED' : 'STALE';
      types.set(typeUrl, {
        typeUrl,
        wildcard: state.subscription.wildcard,
        subscribed: state.subscription.subscribedNames(),
        ...(state.lastSent ? { lastSentVersion: state.lastSent.version, lastSentAt: state.lastSent.at } : {}),
        ...(state.lastSentNonce ? { lastSentNonce: state.lastSentNonce } : {}),
        ...(state.lastAckedVersion !== undefined ? { lastAckedVersion: state.lastAckedVersion } : {}),
        ...(state.lastAckedAt ? { lastAckedAt: state.lastAckedAt } : {}),
        ...(state.lastNack ? { lastNack: state.lastNack } : {}),
        status,
        acked: state.acked,
      });
    }
    return {
      id: this.id,
      protocol: this.protocol,
      api: this.api,
      ...(this.node ? { node: this.node } : {}),
      peer: this.peer,
      connectedAt: this.connectedAt,
      types,
    };
  }
}
