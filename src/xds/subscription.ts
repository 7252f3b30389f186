// Everything one stream knows about one resource type, in one place: what the client wants (names, wildcard), what it
// was sent, what it confirmed and what it rejected. The same state serves state-of-the-world and delta; only how a
// request changes it differs. The stream engine (stream.ts) decides what to send from it; the admin API and CSDS read it.
import { contentSetVersion } from '../snapshot/encode.js';
import { TYPE_URL, type EncodedResource, type ResourceMap, type TypeUrl } from '../snapshot/types.js';
import type { NackRecord, XdsProtocol } from './types.js';

export const WILDCARD = '*';

/** Types whose SotW responses carry the full set (absence means deletion) and whose empty first request is a wildcard. */
export function isFullStateType(typeUrl: TypeUrl): boolean {
  return typeUrl === TYPE_URL.cluster || typeUrl === TYPE_URL.listener;
}

function someNameOutside(map: ReadonlyMap<string, string>, names: ReadonlySet<string>): boolean {
  for (const name of map.keys()) if (!names.has(name)) return true;
  return false;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** In `sent`: the client was told this name does not exist (delta removed_resources). */
const ABSENT = '';

/** A response written to the client and not yet answered by an ACK or NACK. */
export interface SentResponse {
  nonce: string;
  version: string;
  /** When it was written, epoch milliseconds. */
  at: number;
  /** name → version the client holds once it applies this response (SotW: the whole content; delta: what it carried). */
  holds: ReadonlyMap<string, string>;
  /** Delta: names this response told the client to drop. */
  removed: readonly string[];
}

/** The latest response written, as the admin API and CSDS report it: what it held is not kept past its answer. */
export type LastSent = Pick<SentResponse, 'nonce' | 'version' | 'at'>;

/** What an idle subscription shows for its maps that have nothing in them (they are created on first use). */
const NONE: ReadonlyMap<string, never> = new Map<string, never>();

/** A whole resource map as a wildcard SotW client holds it: name → version, and the set's version. */
export interface WholeSet {
  versions: ReadonlyMap<string, string>;
  setVersion: string;
}

/**
 * One WholeSet per resource map (a snapshot's maps are shared by every stream that receives them, and replaced, never
 * changed): every wildcard stream sent that map holds the same object, not a copy of its own per stream.
 */
const wholeSets = new WeakMap<ResourceMap, WholeSet>();

export function wholeSetOf(resources: ResourceMap): WholeSet {
  let whole = wholeSets.get(resources);
  if (!whole) {
    const versions = new Map<string, string>();
    for (const [name, resource] of resources) versions.set(name, resource.version);
    whole = { versions, setVersion: contentSetVersion(resources.values()) };
    wholeSets.set(resources, whole);
  }
  return whole;
}

/** What a client holds of one resource, as CSDS and the admin API report it. */
export type ResourceStatus = 'ACKED' | 'NACKED' | 'REQUESTED' | 'DOES_NOT_EXIST';

export class Subscription {
  // What the client wants.
  wildcard = false;
  /** Explicitly named resources (the wildcard excluded). Replaced, never mutated in place, by SotW requests. */
  names = new Set<string>();
  /** A request for this type has arrived on the stream. */
  requested = false;
  /** A request must be answered although no resource differs (a first request, or a changed CDS/LDS set). */
  answerOwed = false;
  /** SotW: the client named resources explicitly ('*' included), so from now on an empty list means "none". */
  private namedExplicitly = false;
  /** Delta: names a wildcard stream unsubscribed explicitly; each is owed an answer (resources or removed_resources). */
  private owedNames: Set<string> | undefined;
  private sortedNames: string[] | undefined;
  /** SotW: the list of the request that last changed the names (its strings are the ones in `names`). */
  private lastList: readonly string[] = [];

  // The per-resource maps. What is owed is computed against `sent`; `acked` and `rejected` describe the client.
  // Thousands of subscriptions sit idle with nothing in flight and nothing rejected: the in-flight and rejected
  // maps exist only while they hold something. In SotW, what a response holds is the `sent` map itself, and once ACKed it is the
  // `acked` map too: a map shared so is copied before it changes (the *Shared flags), never changed in place.
  private sentVersions = new Map<string, string>();
  private sentShared = false;
  private inFlightByNonce: Map<string, SentResponse> | undefined;
  private ackedVersions: ReadonlyMap<string, string> = new Map<string, string>();
  private ackedShared = false;
  private rejectedVersions: Map<string, string> | undefined;

  lastSent?: LastSent;
  lastAckedVersion?: string;
  /** When the latest ACK arrived, epoch milliseconds. */
  lastAckedAt?: number;
  lastNack?: NackRecord;
  /** Outcome of the latest response: undefined while it is in flight. */
  latestOutcome?: 'ack' | 'nack';

  constructor(
    readonly typeUrl: TypeUrl,
    readonly protocol: XdsProtocol,
  ) {}

  /** name → version the client holds once it applies every response written so far (ABSENT: told it does not exist). */
  get sent(): ReadonlyMap<string, string> {
    return this.sentVersions;
  }

  /** name → version the client confirmed holding, by ACKing a response that carried it. */
  get acked(): ReadonlyMap<string, string> {
    return this.ackedVersions;
  }

  /** Responses written and not yet answered, by nonce (SotW keeps only the latest; delta may have several). */
  get inFlight(): ReadonlyMap<string, SentResponse> {
    return this.inFlightByNonce ?? NONE;
  }

  /** name → version the client refused in a NACK and has not accepted since. */
  get rejected(): ReadonlyMap<string, string> {
    return this.rejectedVersions ?? NONE;
  }

  /** `sent`, to change: a copy first if a response holds it. */
  private ownSent(): Map<string, string> {
    if (this.sentShared) {
      this.sentVersions = new Map(this.sentVersions);
      this.sentShared = false;
    }
    return this.sentVersions;
  }

  /** `acked`, to change: a copy first if it is a response's holds. */
  private ownAcked(): Map<string, string> {
    if (this.ackedShared) {
      this.ackedVersions = new Map(this.ackedVersions);
      this.ackedShared = false;
    }
    // Not shared: the map is this subscription's own.
    return this.ackedVersions as Map<string, string>;
  }

  private forgetRejected(name: string): void {
    if (this.rejectedVersions?.delete(name) && this.rejectedVersions.size === 0) this.rejectedVersions = undefined;
  }

  /**
   * State-of-the-world: the request lists the complete set of wanted names. An empty list on the first request for a
   * full-state type is the legacy wildcard, kept while the client repeats the empty list; once it has named anything
   * ('*' included) an empty list is an unsubscription. Linear in the names. Returns whether the subscription changed.
   */
  setSotwNames(requested: readonly string[]): boolean {
    const first = !this.requested;
    this.requested = true;
    if (requested.length > 0) this.namedExplicitly = true;
    // The common case, an ACK repeating the list it last sent, is compared without building a set.
    if (!first && requested.length > 0 && sameList(requested, this.lastList)) return false;
    // Duplicates must not count as a change, or a client repeating a name would be answered on every ACK.
    const explicit = new Set(requested);
    const wildcard = explicit.delete(WILDCARD) || (requested.length === 0 && isFullStateType(this.typeUrl) && (first || (this.wildcard && !this.namedExplicitly)));
    let changed = first || wildcard !== this.wildcard || explicit.size !== this.names.size;
    if (!changed) for (const name of explicit) if (!this.names.has(name)) { changed = true; break; }
    if (!changed) return false;
    this.wildcard = wildcard;
    this.names = explicit;
    // A copy: the decoded request's list may have room for more names than it holds.
    this.lastList = requested.slice();
    this.sortedNames = undefined;
    // SotW clients forget resources they no longer name.
    if (!wildcard) {
      if (someNameOutside(this.sent, explicit)) {
        const sent = this.ownSent();
        for (const name of sent.keys()) if (!explicit.has(name)) sent.delete(name);
      }
      if (someNameOutside(this.acked, explicit)) {
        const acked = this.ownAcked();
        for (const name of acked.keys()) if (!explicit.has(name)) acked.delete(name);
      }
      for (const name of this.rejected.keys()) if (!explicit.has(name)) this.forgetRejected(name);
    }
    if (first || isFullStateType(this.typeUrl)) this.answerOwed = true;
    return true;
  }

  /**
   * Delta: apply subscribe/unsubscribe. An empty first request for a full-state type is a wildcard. Explicitly
   * subscribing a name makes it owed again even if the client should have it (it may have lost it).
   */
  applyDelta(subscribe: readonly string[], unsubscribe: readonly string[], initialVersions: Record<string, string> | undefined): void {
    const firstRequest = !this.requested;
    const initial = initialVersions ?? {};
    if (firstRequest) {
      this.requested = true;
      if (subscribe.length === 0 && isFullStateType(this.typeUrl)) this.wildcard = true;
      for (const [name, version] of Object.entries(initial)) this.ownSent().set(name, version);
    }
    this.sortedNames = undefined;
    for (const name of subscribe) {
      if (name === WILDCARD) {
        this.wildcard = true;
        continue;
      }
      this.names.add(name);
      if (!firstRequest || !Object.hasOwn(initial, name)) this.ownSent().delete(name);
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) {
        this.wildcard = false;
        continue;
      }
      const wasNamed = this.names.delete(name);
      if (!this.wildcard) {
        this.ownSent().delete(name);
        this.ownAcked().delete(name);
        this.forgetRejected(name);
      } else if (wasNamed) {
        // The protocol requires an answer: the resource again if the wildcard covers it, else removed_resources.
        this.ownSent().delete(name);
        (this.owedNames ??= new Set()).add(name);
      }
    }
  }

  /** Is this name part of the subscription (named, or covered by the wildcard)? */
  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Names in scope: every resource for a wildcard (plus named ones that do not exist), else the named ones, sorted. */
  namesInScope(resources: ResourceMap): string[] {
    if (!this.wildcard) return this.sortedExplicitNames();
    const out = [...resources.keys()];
    const missing = this.sortedExplicitNames().filter((name) => !resources.has(name));
    return missing.length ? [...out, ...missing].sort() : out;
  }

  /** Resources in scope that exist now, in name order (SotW content). */
  current(resources: ResourceMap): EncodedResource[] {
    if (this.wildcard) return [...resources.values()];
    const out: EncodedResource[] = [];
    for (const name of this.sortedExplicitNames()) {
      const resource = resources.get(name);
      if (resource) out.push(resource);
    }
    return out;
  }

  private sortedExplicitNames(): string[] {
    this.sortedNames ??= [...this.names].sort();
    return this.sortedNames;
  }

  /** SotW: does the current content differ from what was last sent? */
  sotwDiffers(content: readonly EncodedResource[]): boolean {
    if (content.length !== this.sent.size) return true;
    return content.some((r) => this.sent.get(r.name) !== r.version);
  }

  /**
   * SotW: the client holds exactly this content once it applies the response being written. `whole`: the content is
   * a whole resource map, whose versions every stream shares.
   */
  recordSotwSent(content: readonly EncodedResource[], whole?: WholeSet): void {
    if (whole) {
      this.sentVersions = whole.versions as Map<string, string>;
      this.sentShared = true;
    } else {
      this.sentVersions = new Map(content.map((r) => [r.name, r.version]));
      this.sentShared = false;
    }
    this.answerOwed = false;
  }

  /**
   * What the client holds once it applies every response written so far, kept as it is: `sent` itself, which a
   * later change copies first. A SotW response's holds, and what a push compares the new content with.
   */
  sentSoFar(): ReadonlyMap<string, string> {
    this.sentShared = true;
    return this.sentVersions;
  }

  /** Delta: what is owed — resources the client lacks or holds at another version, and names to remove. */
  deltaOwed(resources: ResourceMap): { updated: EncodedResource[]; removed: string[] } {
    const updated: EncodedResource[] = [];
    const removed: string[] = [];
    const consider = (name: string) => {
      const resource = resources.get(name);
      const held = this.sent.get(name);
      if (resource && this.covers(name)) {
        if (held !== resource.version) updated.push(resource);
      } else if (!resource && held !== ABSENT && (held !== undefined || this.names.has(name) || this.owedNames?.has(name))) {
        removed.push(name);
      }
    };
    if (this.wildcard) {
      for (const name of resources.keys()) consider(name);
      for (const name of new Set([...this.names, ...this.sent.keys(), ...(this.owedNames ?? [])])) if (!resources.has(name)) consider(name);
    } else {
      for (const name of this.names) consider(name);
    }
    updated.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    removed.sort();
    return { updated, removed };
  }

  /** Delta: the client holds these versions and knows these names are gone once it applies the response. */
  recordDeltaSent(updated: readonly EncodedResource[], removed: readonly string[]): void {
    const sent = this.ownSent();
    for (const r of updated) sent.set(r.name, r.version);
    for (const name of removed) {
      if (this.names.has(name)) sent.set(name, ABSENT);
      else sent.delete(name);
    }
    this.owedNames = undefined;
    this.answerOwed = false;
  }

  /** Forget what the client holds for a name so it is sent again (a cluster changed: Envoy re-warms its EDS). */
  forget(name: string): void {
    if (this.sent.has(name)) this.ownSent().delete(name);
  }

  /** A response was written: it awaits the client's answer. SotW replaces what was in flight (only its nonce is current). */
  recordWritten(response: SentResponse, replacesInFlight: boolean): void {
    if (replacesInFlight || !this.inFlightByNonce) this.inFlightByNonce = new Map();
    this.inFlightByNonce.set(response.nonce, response);
    this.lastSent = { nonce: response.nonce, version: response.version, at: response.at };
    this.latestOutcome = undefined;
  }

  /** Is this nonce one of a response still awaiting its answer? */
  awaits(nonce: string): boolean {
    return nonce !== '' && this.inFlight.has(nonce);
  }

  /** The client answered the response with this nonce: an ACK, or a NACK when errorMessage is set. */
  recordAnswer(nonce: string, errorMessage: string | undefined): { ack: true } | { ack: false; nack: NackRecord } | undefined {
    const inFlight = this.inFlightByNonce;
    const answered = inFlight?.get(nonce);
    if (!inFlight || !answered) return undefined;
    const isLatest = nonce === this.lastSent?.nonce;
    // Everything written before the answered response has been processed by the client too.
    const processed: SentResponse[] = [];
    for (const [key, response] of inFlight) {
      inFlight.delete(key);
      if (key === nonce) break;
      processed.push(response);
    }
    if (inFlight.size === 0) this.inFlightByNonce = undefined;
    if (errorMessage !== undefined) {
      const nack: NackRecord = { version: answered.version, nonce, message: errorMessage, at: new Date() };
      this.lastNack = nack;
      if (isLatest) this.latestOutcome = 'nack';
      if (this.protocol === 'sotw') this.rejectedVersions = undefined;
      for (const [name, version] of answered.holds) if (this.acked.get(name) !== version) (this.rejectedVersions ??= new Map()).set(name, version);
      return { ack: false, nack };
    }
    for (const response of [...processed, answered]) this.applyAck(response);
    this.lastAckedVersion = answered.version;
    this.lastAckedAt = Date.now();
    if (isLatest) this.latestOutcome = 'ack';
    return { ack: true };
  }

  private applyAck(response: SentResponse): void {
    // SotW: an ACKed response replaces the whole set (its holds become `acked`); delta: each resource it carried.
    if (this.protocol === 'sotw') {
      this.ackedVersions = response.holds;
      this.ackedShared = true;
      this.rejectedVersions = undefined;
      return;
    }
    const acked = this.ownAcked();
    for (const [name, version] of response.holds) {
      acked.set(name, version);
      this.forgetRejected(name);
    }
    for (const name of response.removed) {
      acked.delete(name);
      this.forgetRejected(name);
    }
  }

  /** Whether nothing written is still awaiting its answer (heartbeats are sent only then). */
  settled(): boolean {
    return this.inFlightByNonce === undefined;
  }

  /** One resource as the client holds it: status, the version it ACKed (if any), and what it refused. */
  resourceStatus(name: string, resources: ResourceMap): { status: ResourceStatus; ackedVersion?: string; rejectedVersion?: string } {
    const ackedVersion = this.acked.get(name);
    const withAcked = ackedVersion !== undefined ? { ackedVersion } : {};
    const rejectedVersion = this.rejected.get(name);
    if (rejectedVersion !== undefined) return { status: 'NACKED', ...withAcked, rejectedVersion };
    if (!resources.has(name)) return { status: 'DOES_NOT_EXIST', ...withAcked };
    if (ackedVersion !== undefined && ackedVersion === this.sent.get(name)) return { status: 'ACKED', ackedVersion };
    return { status: 'REQUESTED', ...withAcked };
  }

  /** Names explicitly subscribed (for the admin API). */
  subscribedNames(): string[] {
    return [...this.sortedExplicitNames()];
  }
}
