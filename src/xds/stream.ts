// The stream engine: one per xDS stream, whatever its protocol (SotW or delta) or API (ADS or per-type). It
// applies requests to the subscriptions, tells ACKs from NACKs, and decides what the stream is owed after a
// request or a new snapshot. Framing and I/O live elsewhere; this module only decides.
import { DEFAULT_VIEW, PUSH_ORDER, TYPE_URL, isTypeUrl, type EncodedResource, type ResourceMap, type Snapshot, type SnapshotDiff, type TypeUrl } from '../snapshot/types.js';
import { contentSetVersion } from '../snapshot/encode.js';
import type { SharedResponses } from './shared-responses.js';
import { Subscription, isFullStateType, wholeSetOf } from './subscription.js';
import type { NackRecord, NodeInfo, StreamInfo, SyncStatus, TypeStreamInfo, XdsApi, XdsProtocol } from './types.js';
import type { XdsRequest, XdsResponse } from './wire.js';

/** A change to a cluster (listener) makes Envoy re-warm it and wait for its assignment (route configuration). */
const DEPENDENT_TYPE: Partial<Record<TypeUrl, TypeUrl>> = {
  [TYPE_URL.cluster]: TYPE_URL.endpoint,
  [TYPE_URL.listener]: TYPE_URL.route,
};

/**
 * Order of responses that only remove resources: what refers comes out before what it refers to (make-before-break
 * in reverse) — the Listener before the Route it names, both before the Cluster, the Cluster before its assignment.
 */
const REMOVAL_ORDER: readonly TypeUrl[] = [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint];

/** The type a per-type discovery service serves; ADS serves all. */
const API_TYPE: Record<XdsApi, TypeUrl | undefined> = {
  ads: undefined,
  eds: TYPE_URL.endpoint,
  cds: TYPE_URL.cluster,
  lds: TYPE_URL.listener,
  rds: TYPE_URL.route,
};

const EMPTY: ResourceMap = new Map();

/** Client features (Node.client_features) that opt a stream into resource TTLs and heartbeats. */
export const FEATURE_RESOURCE_TTL = 'xds.config.supports-resource-ttl';
export const FEATURE_RESOURCE_IN_SOTW = 'xds.config.resource-in-sotw';

export interface StreamObserver {
  sent(response: XdsResponse, changeSeenAt: number | undefined): void;
  acked(typeUrl: TypeUrl): void;
  nacked(typeUrl: TypeUrl, nack: NackRecord): void;
  ignored(reason: string, request: XdsRequest): void;
}

export interface StreamEngineOptions {
  id: string;
  protocol: XdsProtocol;
  /** ADS serves every type; a per-type service only its own. */
  api: XdsApi;
  peer: string;
  observer: StreamObserver;
  /** Resource TTL offered to clients that support it (0 or absent = off). */
  resourceTtlMs?: number;
}

/** One response being built, with whether it adds/changes and whether it removes resources (for ordering). */
interface Built {
  response: XdsResponse;
  adds: boolean;
  removes: boolean;
}

export class StreamEngine {
  readonly id: string;
  readonly protocol: XdsProtocol;
  readonly api: XdsApi;
  readonly peer: string;
  /** Epoch milliseconds. */
  private readonly connectedAt = Date.now();
  /** The view whose resources this stream receives: decided by its node, and again after a Gateway change. */
  view: string = DEFAULT_VIEW;
  /** One per requested type, in the order of their first requests (a handful at most: a list, not a map). */
  private subscriptions: readonly Subscription[] = [];
  private readonly fixedType: TypeUrl | undefined;
  private readonly observer: StreamObserver;
  private readonly resourceTtlMs: number;
  private node: NodeInfo | undefined;
  private nonceCounter = 0;

  constructor(options: StreamEngineOptions) {
    this.id = options.id;
    this.protocol = options.protocol;
    this.api = options.api;
    this.peer = options.peer;
    this.fixedType = API_TYPE[options.api];
    this.observer = options.observer;
    this.resourceTtlMs = options.resourceTtlMs ?? 0;
  }

  /** TTLs need the client's support, and in SotW also its support for Resource wrappers that carry them. */
  private ttlMs(): number | undefined {
    const features = this.node?.clientFeatures ?? [];
    if (!this.resourceTtlMs || !features.includes(FEATURE_RESOURCE_TTL)) return undefined;
    if (this.protocol === 'sotw' && !features.includes(FEATURE_RESOURCE_IN_SOTW)) return undefined;
    return this.resourceTtlMs;
  }

  /**
   * Heartbeats for clients using resource TTLs renew what each client ACKed (name and ACKed version, no body), so a
   * client counts them as heartbeats even after it NACKed a newer version. Types with a response awaiting its answer
   * get none: that response renews them.
   */
  heartbeat(snapshot: Snapshot): XdsResponse[] {
    const ttlMs = this.ttlMs();
    if (ttlMs === undefined) return [];
    const responses: XdsResponse[] = [];
    for (const typeUrl of PUSH_ORDER) {
      const sub = this.subscriptionFor(typeUrl);
      if (!sub?.requested || !sub.lastSent || !sub.settled() || sub.lastAckedVersion === undefined) continue;
      // Everything the client ACKed, also a resource whose removal it rejected: it keeps that resource, and a SotW
      // heartbeat is a complete response at the version it accepted last.
      const held = [...sub.acked].map(([name, version]) => ({ name, version }));
      if (held.length === 0) continue;
      const version = this.protocol === 'sotw' ? sub.lastAckedVersion : snapshot.version;
      const response: XdsResponse = { typeUrl, nonce: this.nextNonce(), version, resources: [], removed: [], ttlMs, heartbeat: held };
      this.track(sub, response, new Map(held.map((h) => [h.name, h.version])));
      responses.push(response);
    }
    for (const response of responses) this.observer.sent(response, undefined);
    return responses;
  }

  /**
   * Applies one request and returns the responses now owed, in push order. With `hold` (the client is not reading
   * what it was sent) the request only updates the subscription; `catchUp` answers it once the client reads again.
   */
  handleRequest(request: XdsRequest, snapshot: Snapshot, hold = false): XdsResponse[] {
    if (request.node && !this.node) this.node = request.node;
    const typeUrl = request.typeUrl || this.fixedType;
    if (!typeUrl || !isTypeUrl(typeUrl) || (this.fixedType && typeUrl !== this.fixedType)) {
      this.observer.ignored(`unsupported type_url ${JSON.stringify(request.typeUrl)}`, request);
      return [];
    }
    const sub = this.subscriptionOf(typeUrl);
    const answersInFlight = sub.awaits(request.nonce);
    // Stale: the nonce of a response older than the latest, so the client has not seen the latest yet. The latest
    // nonce stays current after its ACK: clients send later subscription changes with it.
    const stale = request.nonce !== '' && !answersInFlight && request.nonce !== sub.lastSent?.nonce;

    if (answersInFlight) this.recordOutcome(typeUrl, sub, request);

    if (this.protocol === 'sotw') {
      // SotW: a request with a stale nonce is ignored entirely; its subscription will be repeated with the new nonce.
      if (stale) {
        this.observer.ignored(`stale nonce ${request.nonce}`, request);
        return [];
      }
      // A first request, or a changed CDS/LDS set, is owed an answer even with unchanged content; the same
      // subscription repeated (with an empty nonce, as a client that does not read may) is not answered again.
      const changed = sub.setSotwNames(request.resourceNames ?? []);
      if (!changed && !answersInFlight && request.nonce === '') this.observer.ignored('unchanged subscription repeated', request);
      // Pushes already carried every snapshot change, so an unchanged subscription is owed nothing new.
      if (!changed && !sub.answerOwed) return [];
    } else {
      // Delta: subscription changes apply even with a stale nonce; a request that changes nothing (an ACK) is owed nothing.
      const first = !sub.requested;
      sub.applyDelta(request.subscribe ?? [], request.unsubscribe ?? [], request.initialVersions);
      if (!first && !request.subscribe?.length && !request.unsubscribe?.length) return [];
    }
    return hold ? [] : this.respond(snapshot, [typeUrl]);
  }

  /** A new snapshot: the responses this stream is owed, if any resource it follows changed. */
  handleSnapshot(snapshot: Snapshot, diff: SnapshotDiff, shared?: SharedResponses): XdsResponse[] {
    const affected = PUSH_ORDER.filter((typeUrl) => {
      const sub = this.subscriptionFor(typeUrl);
      const changed = diff.get(typeUrl);
      if (!sub?.requested || !changed) return false;
      for (const name of changed) if (sub.covers(name) || sub.sent.has(name)) return true;
      return false;
    });
    return affected.length ? this.respond(snapshot, affected, shared) : [];
  }

  /** Everything owed on every requested type: after pushes and requests were held for a client that did not read. */
  catchUp(snapshot: Snapshot): XdsResponse[] {
    return this.respond(snapshot, [...PUSH_ORDER]);
  }

  /** `shared`: a push's responses, which streams owed the same one share (not with resource TTLs, set per stream). */
  private respond(snapshot: Snapshot, typeUrls: TypeUrl[], shared?: SharedResponses): XdsResponse[] {
    const ttlMs = this.ttlMs();
    const sharing = ttlMs === undefined ? shared : undefined;
    const built: Built[] = [];
    const pending = new Set(typeUrls);
    for (const typeUrl of PUSH_ORDER) {
      if (!pending.has(typeUrl)) continue;
      const sub = this.subscriptionFor(typeUrl);
      if (!sub?.requested) continue;
      const dependent = DEPENDENT_TYPE[typeUrl];
      const dependentSub = dependent && this.subscriptionFor(dependent);
      // What the client held before, to tell which clusters (listeners) changed: only needed with a dependent type.
      const before = dependentSub?.requested ? sub.sentSoFar() : undefined;
      const resources = snapshot.resources.get(typeUrl) ?? EMPTY;
      const next = this.protocol === 'sotw' ? this.sotwResponse(typeUrl, sub, resources, sharing) : this.deltaResponse(typeUrl, sub, resources, snapshot.version, sharing);
      if (!next) continue;
      built.push(next);
      if (dependent && dependentSub && before) {
        for (const resource of next.response.resources) {
          if (before.get(resource.name) !== resource.version && dependentSub.covers(resource.name)) dependentSub.forget(resource.name);
        }
        pending.add(dependent);
      }
    }
    // Additions and changes go in push order (a Cluster before what routes to it); responses that only remove go
    // after them, referrers first.
    const removalsOnly = built.filter((b) => b.removes && !b.adds);
    removalsOnly.sort((a, b) => REMOVAL_ORDER.indexOf(a.response.typeUrl) - REMOVAL_ORDER.indexOf(b.response.typeUrl));
    const responses = [...built.filter((b) => !(b.removes && !b.adds)), ...removalsOnly].map((b) => b.response);
    for (const response of responses) {
      if (ttlMs !== undefined) response.ttlMs = ttlMs;
      this.observer.sent(response, snapshot.changeSeenAt);
    }
    return responses;
  }

  private sotwResponse(typeUrl: TypeUrl, sub: Subscription, resources: ResourceMap, shared: SharedResponses | undefined): Built | undefined {
    // A wildcard stream is sent whole maps: one set of versions per map serves every such stream.
    const whole = sub.wildcard ? wholeSetOf(resources) : undefined;
    if (!sub.answerOwed && whole && sub.sent === whole.versions) return undefined;
    const content = sub.current(resources);
    if (!sub.answerOwed && !sub.sotwDiffers(content)) return undefined;
    // Named types (EDS/RDS): nothing to say about names that do not exist yet; they are sent when they appear.
    if (content.length === 0 && !sub.wildcard && !isFullStateType(typeUrl) && sub.sent.size === 0) {
      sub.answerOwed = false;
      return undefined;
    }
    // EDS/RDS responses need not repeat what the client holds (clients keep what a response leaves out): after the
    // first response, one carries only new or changed resources, and a shrunk subscription needs none. CDS/LDS
    // responses are the full set by definition.
    const changedOnly = !isFullStateType(typeUrl) && sub.lastSent !== undefined;
    let adds = false;
    let stillHeld = 0;
    for (const r of content) {
      const held = sub.sent.get(r.name);
      if (held !== undefined) stillHeld += 1;
      if (held !== r.version) adds = true;
    }
    const removes = isFullStateType(typeUrl) && sub.sent.size > stillHeld;
    const sent = changedOnly ? content.filter((r) => sub.sent.get(r.name) !== r.version) : content;
    sub.recordSotwSent(content, whole);
    // An empty CDS/LDS response is meaningful (every resource is gone); an empty EDS/RDS one says nothing.
    if (sent.length === 0 && !isFullStateType(typeUrl)) return undefined;
    // The version describes everything the client holds after this response, whatever part of it was sent.
    const version = whole?.setVersion ?? contentSetVersion(content);
    const response = this.newResponse(shared, typeUrl, version, sent, [], whole !== undefined && !changedOnly);
    this.track(sub, response, sub.sentSoFar());
    return { response, adds, removes };
  }

  private deltaResponse(typeUrl: TypeUrl, sub: Subscription, resources: ResourceMap, version: string, shared: SharedResponses | undefined): Built | undefined {
    const { updated, removed } = sub.deltaOwed(resources);
    if (updated.length === 0 && removed.length === 0) return undefined;
    sub.recordDeltaSent(updated, removed);
    const response = this.newResponse(shared, typeUrl, version, updated, removed);
    this.track(sub, response, new Map(updated.map((r) => [r.name, r.version])));
    return { response, adds: updated.length > 0, removes: removed.length > 0 };
  }

  /** `holds`: what the client holds once it applies the response. SotW: only the latest nonce is current. */
  private track(sub: Subscription, response: XdsResponse, holds: ReadonlyMap<string, string>): void {
    sub.recordWritten({ nonce: response.nonce, version: response.version, at: Date.now(), holds, removed: response.removed }, this.protocol === 'sotw');
  }

  private recordOutcome(typeUrl: TypeUrl, sub: Subscription, request: XdsRequest): void {
    const outcome = sub.recordAnswer(request.nonce, request.errorMessage);
    if (!outcome) return;
    if (outcome.ack) this.observer.acked(typeUrl);
    else this.observer.nacked(typeUrl, outcome.nack);
  }

  private subscriptionFor(typeUrl: TypeUrl): Subscription | undefined {
    for (const sub of this.subscriptions) if (sub.typeUrl === typeUrl) return sub;
    return undefined;
  }

  private subscriptionOf(typeUrl: TypeUrl): Subscription {
    let sub = this.subscriptionFor(typeUrl);
    if (!sub) {
      // The type's own constant rather than the request's copy of the string, which every stream would keep.
      sub = new Subscription(PUSH_ORDER.find((known) => known === typeUrl) ?? typeUrl, this.protocol);
      // A new list of exactly this length (concat allocates no more): an array pushed to keeps room for 16 more.
      this.subscriptions = this.subscriptions.concat(sub);
    }
    return sub;
  }

  /** The subscription of one type, for read-only views (CSDS); undefined before the client requested it. */
  subscription(typeUrl: TypeUrl): Subscription | undefined {
    const sub = this.subscriptionFor(typeUrl);
    return sub?.requested ? sub : undefined;
  }

  nodeInfo(): NodeInfo | undefined {
    return this.node;
  }

  /** A response of this stream's own, or the push's shared one for the same contents. */
  private newResponse(
    shared: SharedResponses | undefined,
    typeUrl: TypeUrl,
    version: string,
    resources: readonly EncodedResource[],
    removed: readonly string[],
    wholeSet = false,
  ): XdsResponse {
    return shared?.responseFor(this.protocol, typeUrl, version, resources, removed, wholeSet) ?? { typeUrl, nonce: this.nextNonce(), version, resources, removed };
  }

  private nextNonce(): string {
    this.nonceCounter += 1;
    return `${this.id}-${this.nonceCounter}`;
  }

  info(): StreamInfo {
    const types = new Map<TypeUrl, TypeStreamInfo>();
    for (const sub of this.subscriptions) {
      const typeUrl = sub.typeUrl;
      const status: SyncStatus =
        sub.lastSent === undefined ? 'NOT_SENT' : sub.latestOutcome === 'ack' ? 'SYNCED' : sub.latestOutcome === 'nack' ? 'NACKED' : 'STALE';
      types.set(typeUrl, {
        typeUrl,
        wildcard: sub.wildcard,
        subscribed: sub.subscribedNames(),
        ...(sub.lastSent ? { lastSentVersion: sub.lastSent.version, lastSentAt: new Date(sub.lastSent.at), lastSentNonce: sub.lastSent.nonce } : {}),
        ...(sub.lastAckedVersion !== undefined ? { lastAckedVersion: sub.lastAckedVersion } : {}),
        ...(sub.lastAckedAt !== undefined ? { lastAckedAt: new Date(sub.lastAckedAt) } : {}),
        ...(sub.lastNack ? { lastNack: sub.lastNack } : {}),
        status,
        acked: sub.acked,
      });
    }
    return {
      id: this.id,
      protocol: this.protocol,
      api: this.api,
      ...(this.node ? { node: this.node } : {}),
      peer: this.peer,
      connectedAt: new Date(this.connectedAt),
      view: this.view,
      types,
    };
  }
}
