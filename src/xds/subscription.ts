// What one stream subscribes to for one resource type, and what the client is known to hold. The same state
// serves state-of-the-world and delta; only how a request changes it differs.
import { TYPE_URL, type EncodedResource, type ResourceMap, type TypeUrl } from '../snapshot/types.js';

export const WILDCARD = '*';

/** Types whose SotW responses carry the full set (absence means deletion) and whose empty first request is a wildcard. */
export function isFullStateType(typeUrl: TypeUrl): boolean {
  return typeUrl === TYPE_URL.cluster || typeUrl === TYPE_URL.listener;
}

/** Marks a name the client was told does not exist (delta removed_resources). */
const ABSENT = '';

export class Subscription {
  wildcard = false;
  readonly names = new Set<string>();
  /** A request for this type has arrived on the stream. */
  requested = false;
  /** name → version the client holds as far as the server knows (ABSENT: told it does not exist). */
  readonly known = new Map<string, string>();

  constructor(readonly typeUrl: TypeUrl) {}

  /**
   * State-of-the-world: the request lists the complete set of wanted names. An empty list on the first request for
   * a full-state type means wildcard (legacy form); `*` asks for wildcard explicitly. Returns whether it changed.
   */
  setSotwNames(names: readonly string[]): boolean {
    const first = !this.requested;
    this.requested = true;
    const wildcard = names.includes(WILDCARD) || (names.length === 0 && isFullStateType(this.typeUrl) && (first || this.wildcard));
    // Duplicates must not count as a change, or a client repeating a name would be answered on every ACK.
    const explicit = [...new Set(names.filter((n) => n !== WILDCARD))];
    const changed = first || wildcard !== this.wildcard || explicit.length !== this.names.size || explicit.some((n) => !this.names.has(n));
    this.wildcard = wildcard;
    this.names.clear();
    for (const name of explicit) this.names.add(name);
    // SotW clients forget resources they no longer name; keep `known` only for what is still wanted.
    if (!this.wildcard) for (const name of this.known.keys()) if (!this.names.has(name)) this.known.delete(name);
    return changed;
  }

  /**
   * Delta: apply subscribe/unsubscribe. An empty first request for a full-state type is a wildcard. Explicitly
   * subscribing a name makes it owed again even if the client should have it (it may have lost it).
   */
  applyDelta(subscribe: readonly string[], unsubscribe: readonly string[], initialVersions: Record<string, string> | undefined): void {
    const firstRequest = !this.requested;
    if (firstRequest) {
      this.requested = true;
      if (subscribe.length === 0 && isFullStateType(this.typeUrl)) this.wildcard = true;
      for (const [name, version] of Object.entries(initialVersions ?? {})) this.known.set(name, version);
    }
    for (const name of subscribe) {
      if (name === WILDCARD) {
        this.wildcard = true;
        continue;
      }
      this.names.add(name);
      if (!firstRequest || !(name in (initialVersions ?? {}))) this.known.delete(name);
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) {
        this.wildcard = false;
        continue;
      }
      this.names.delete(name);
      if (!this.wildcard) this.known.delete(name);
    }
  }

  /** Is this name part of the subscription (named, or covered by the wildcard)? */
  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Resources in scope that exist now, in name order (SotW content). */
  current(resources: ResourceMap): EncodedResource[] {
    if (this.wildcard) {
      return [...resources.values()];
    }
    const out: EncodedResource[] = [];
    for (const name of [...this.names].sort()) {
      const resource = resources.get(name);
      if (resource) out.push(resource);
    }
    return out;
  }

  /** SotW: does the current content differ from what was last sent? */
  sotwDiffers(content: readonly EncodedResource[]): boolean {
    if (content.length !== this.known.size) return true;
    return content.some((r) => this.known.get(r.name) !== r.version);
  }

  /** SotW: the client now holds exactly this content. */
  recordSotwSent(content: readonly EncodedResource[]): void {
    this.known.clear();
    for (const r of content) this.known.set(r.name, r.version);
  }

  /** Delta: what is owed — resources the client lacks or holds at another version, and names to remove. */
  deltaOwed(resources: ResourceMap): { updated: EncodedResource[]; removed: string[] } {
    const updated: EncodedResource[] = [];
    const removed: string[] = [];
    const candidates = this.wildcard ? new Set([...resources.keys(), ...this.names, ...this.known.keys()]) : new Set(this.names);
    for (const name of candidates) {
      const resource = resources.get(name);
      const held = this.known.get(name);
      if (resource && this.covers(name)) {
        if (held !== resource.version) updated.push(resource);
      } else if (!resource && held !== ABSENT && (held !== undefined || this.names.has(name))) {
        removed.push(name);
      }
    }
    updated.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    removed.sort();
    return { updated, removed };
  }

  /** Delta: the client now holds these versions and knows these names are gone. */
  recordDeltaSent(updated: readonly EncodedResource[], removed: readonly string[]): void {
    for (const r of updated) this.known.set(r.name, r.version);
    for (const name of removed) {
      if (this.names.has(name)) this.known.set(name, ABSENT);
      else this.known.delete(name);
    }
  }

  /** Forget what the client holds for a name so it is sent again (a cluster changed: Envoy re-warms its EDS). */
  forget(name: string): void {
    this.known.delete(name);
  }

  /** Names explicitly subscribed (for the admin API). */
  subscribedNames(): string[] {
    return [...this.names].sort();
  }
}
