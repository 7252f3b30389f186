// Keeps a RegistryStore in step with etcd: list the prefix at revision R, then watch from R+1.
//
// The watch is driven here rather than left to the etcd3 library's automatic reconnect, because that
// reconnect resumes from the revision in the last response *header* (etcd3 lib/watch.js updateRevision),
// and while a watcher catches up etcd sends the store's current revision in that header before the older
// events have all arrived: a reconnect at that moment would silently skip events. So on every disconnect
// the library watcher is dropped and a new one is created from the revision after the last event applied.
// A watch cancelled by etcd (its start revision was compacted, or it fell too far behind) cannot be
// resumed: the prefix is listed again and swapped in atomically. Throughout, the last view keeps serving:
// a connection error never empties the registry.
import { EventEmitter } from 'node:events';
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import { DEFAULT_PAGE_SIZE, isResourceExhausted, listPrefix, PageTooLargeError } from './prefix-listing.js';
import { RegistryStore, type Replacement, type StoredKeyValue } from './store.js';
import type { RegistryChange, RegistryView, WatchState } from './types.js';

export type { RegistryChange } from './types.js';

/**
 * What a watched prefix feeds: events one by one, or a full listing page by page swapped in at once; commit() turns
 * what was applied since the last commit into one change event.
 */
export interface WatchedStore<Change extends { changeSeenAt: number }, Listing = Replacement> {
  applyPut(key: string, value: Buffer | string, lease: string, modRevision: string): void;
  applyDelete(key: string, modRevision: string): void;
  beginReplacement(): Listing;
  addPage(listing: Listing, kvs: readonly StoredKeyValue[]): void;
  finishReplacement(listing: Listing, revision: string): void;
  commit(changeSeenAt: number): Change;
}

export interface WatchStateChange {
  state: WatchState;
  previous: WatchState;
  /** Why the state changed, when it was an error (e.g. the etcd error message). */
  reason?: string;
}

export interface PrefixWatcherEvents<Change> {
  change: [Change];
  /** etcd could not be read or watched (each failure; the watcher keeps retrying). */
  failure: [unknown];
  state: [WatchStateChange];
}

export interface RegistryWatcherStats {
  state: WatchState;
  ready: boolean;
  /** etcd revision the current view reflects. */
  revision: string;
  /** Watches lost (etcd down, stream broken) and re-established from the last revision. */
  reconnects: number;
  /** Full re-lists after etcd cancelled the watch (compacted revision). The initial sync is not counted. */
  resyncs: number;
  /** etcd events applied since start. */
  eventsApplied: number;
  lastError?: string;
  /** When etcd last stopped answering (ISO time), while it still does not. */
  failingSince?: string;
}

export interface PrefixWatcherOptions {
  client: Etcd3;
  /** Key prefix, e.g. "/services/". */
  prefix: string;
  logger: Logger;
  /** Keys per range page during a (re)sync. */
  pageSize?: number;
  /** Retry delays after a failure: doubling from initialMs up to maxMs, with jitter. */
  retry?: { initialMs?: number; maxMs?: number };
}

type WatchOutcome =
  | { kind: 'lost'; error: unknown; connectedForMs: number }
  | { kind: 'cancelled'; reason: string; at: number; connectedForMs: number }
  | { kind: 'stopped' };

/** While etcd stays unreachable, the cause is logged again at this interval. */
const REPEAT_WARNING_MS = 30_000;

/** A progress line every this many pages of a large listing. */
const PROGRESS_EVERY_PAGES = 20;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A watch connected this long counts as healthy: the next failure retries at the initial delay again. */
const HEALTHY_WATCH_MS = 5_000;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * etcd3 reports a cancelled watch as "Watcher canceled: <cancel_reason>" and drops compact_revision. etcd leaves
 * cancel_reason empty only when it cancels for compaction; other causes (e.g. permission denied) carry a reason.
 */
function cancelReason(err: unknown, startRevision: string): string {
  const detail = errorMessage(err).replace(/^Watcher canceled:\s*/, '');
  return detail === ''
    ? `etcd cancelled the watch from revision ${startRevision}: that revision has been compacted`
    : `etcd cancelled the watch from revision ${startRevision}: ${detail}`;
}

/** Keeps a store in step with one etcd prefix (the registry, the control plane's own state, configuration). */
export class PrefixWatcher<Change extends { changeSeenAt: number }, Listing = Replacement> extends EventEmitter<PrefixWatcherEvents<Change>> {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly logger: Logger;
  private pageSize: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  protected readonly store: WatchedStore<Change, Listing>;

  private currentState: WatchState = 'starting';
  private started = false;
  private stopped = false;
  private isReady = false;
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;

  /** Revision of the last applied event (or of the last full listing): the watch resumes after it. */
  private lastRevision = '0';
  private nextDelayMs: number;
  private counters = { reconnects: 0, resyncs: 0, eventsApplied: 0 };
  private lastError: string | undefined;
  /** Failures since etcd last answered: the first of a series is logged as a warning, the rest at debug. */
  private consecutiveFailures = 0;
  private failingSince: number | undefined;
  private lastWarnAt = 0;
  private cancelCurrentWatch: (() => Promise<void>) | undefined;
  private runLoop: Promise<void> | undefined;
  private wakeFromSleep: (() => void) | undefined;

  constructor(options: PrefixWatcherOptions, store: WatchedStore<Change, Listing>) {
    super();
    this.client = options.client;
    this.prefix = options.prefix;
    this.logger = options.logger;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.retryInitialMs = options.retry?.initialMs ?? 100;
    this.retryMaxMs = options.retry?.maxMs ?? 2_000;
    this.nextDelayMs = this.retryInitialMs;
    this.store = store;
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.readyPromise.catch(() => undefined); // stop() before the first sync must not be an unhandled rejection
  }

  /** Starts syncing; retries until etcd answers. Call once. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.runLoop = this.run().catch((err: unknown) => {
      // run() handles its own errors; reaching here is a bug, so say so loudly but keep the last view.
      this.logger.error({ err }, 'registry watcher loop failed');
      this.lastError = errorMessage(err);
    });
  }

  /**
   * Stops watching and cancels the etcd watch (waiting at most a second for etcd to confirm), so the caller
   * can close the client afterwards. The last view stays readable. ready() rejects if it had not resolved.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const cancelling = this.cancelCurrentWatch?.();
    this.wakeFromSleep?.();
    this.setState('stopped');
    if (!this.isReady) this.rejectReady(new Error('registry watcher stopped before the first sync'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)));
    await Promise.race([Promise.all([cancelling, this.runLoop]), timeout]);
    clearTimeout(timer);
  }

  /** Resolves after the first full sync of the prefix (never while etcd has not answered). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  state(): WatchState {
    return this.currentState;
  }

  stats(): RegistryWatcherStats {
    return {
      state: this.currentState,
      ready: this.isReady,
      revision: this.lastRevision,
      ...this.counters,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      ...(this.failingSince !== undefined && { failingSince: new Date(this.failingSince).toISOString() }),
    };
  }

  private async run(): Promise<void> {
    let needsListing = true;
    let changeSeenAt = Date.now();
    this.setState('syncing');
    while (!this.stopped) {
      if (needsListing) {
        const listed = await this.listAndReplace(changeSeenAt);
        if (!listed) {
          await this.sleep(this.takeDelay());
          continue;
        }
        needsListing = false;
      }
      const outcome = await this.watchFrom((BigInt(this.lastRevision) + 1n).toString());
      if (outcome.kind === 'stopped' || this.stopped) return;
      if (outcome.kind === 'cancelled') {
        // etcd will not resume this watch (compacted revision or similar): list again, swap atomically.
        this.counters.resyncs++;
        this.lastError = outcome.reason;
        this.logger.warn({ reason: outcome.reason, revision: this.lastRevision }, 'etcd cancelled the watch; resyncing');
        this.setState('resyncing', outcome.reason);
        needsListing = true;
        changeSeenAt = outcome.at;
        if (outcome.connectedForMs >= HEALTHY_WATCH_MS) this.nextDelayMs = this.retryInitialMs;
        await this.sleep(this.takeDelay());
        continue;
      }
      this.counters.reconnects++;
      if (outcome.connectedForMs >= HEALTHY_WATCH_MS) this.nextDelayMs = this.retryInitialMs;
      this.noteFailure(outcome.error, 'etcd watch lost; retrying from the last revision');
      this.setState('reconnecting', this.lastError);
      // A response too large for the client cannot be resumed past: re-list in pages instead.
      if (isResourceExhausted(outcome.error)) needsListing = true;
      changeSeenAt = Date.now();
      await this.sleep(this.takeDelay());
    }
  }

  /**
   * Lists the prefix and swaps it in; false (after logging) when etcd could not be read. Each page is parsed as it
   * arrives, then the loop yields, so a listing of 100,000 keys never holds the event loop for long.
   */
  private async listAndReplace(changeSeenAt: number): Promise<boolean> {
    const replacement = this.store.beginReplacement();
    let pages = 0;
    try {
      const listing = await listPrefix(this.client, this.prefix, this.pageSize, async (kvs, keys) => {
        this.store.addPage(replacement, kvs);
        pages += 1;
        if (pages % PROGRESS_EVERY_PAGES === 0) this.logger.info({ keys }, 'listing the registry from etcd: more pages to read');
        await yieldToEventLoop();
      });
      if (this.stopped) return false;
      this.store.finishReplacement(replacement, listing.revision);
      this.lastRevision = listing.revision;
      this.recovered();
      this.logger.info({ keys: listing.keys, revision: listing.revision }, 'registry synced from etcd');
      this.emitChange(changeSeenAt);
      if (!this.isReady) {
        this.isReady = true;
        this.resolveReady();
      }
      return true;
    } catch (err) {
      if (err instanceof PageTooLargeError) this.pageSize = err.suggestedPageSize; // remembered for later resyncs
      this.noteFailure(err, 'listing the prefix in etcd failed; retrying');
      return false;
    }
  }

  /** Watches from `startRevision` until the watch is lost, cancelled by etcd, or stop() is called. */
  private watchFrom(startRevision: string): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      let connectedAt: number | undefined;
      const watcher: Watcher = this.client.watch().prefix(this.prefix).startRevision(startRevision).watcher();
      const finish = (outcome: WatchOutcome): void => {
        if (settled) return;
        settled = true;
        this.cancelCurrentWatch = undefined;
        resolve(outcome);
      };
      watcher.on('connected', () => {
        if (settled) return;
        connectedAt = Date.now();
        this.lastError = undefined;
        this.recovered();
        this.setState('watching');
      });
      watcher.on('data', (response: IWatchResponse) => {
        if (!settled) this.applyResponse(response, Date.now());
      });
      watcher.on('disconnected', (error: unknown) => {
        finish({ kind: 'lost', error, connectedForMs: connectedAt === undefined ? 0 : Date.now() - connectedAt });
        // Detach from the library's manager so it does not reconnect this watcher from its own revision.
        watcher.cancel().catch(() => undefined);
      });
      // The library reports a watch cancelled by etcd (compact_revision set, or another cancel reason) as
      // 'error'; it has already dropped the watcher. An 'error' listener must exist or EventEmitter throws.
      watcher.on('error', (error: unknown) => {
        const at = Date.now();
        const connectedForMs = connectedAt === undefined ? 0 : at - connectedAt;
        finish({ kind: 'cancelled', reason: cancelReason(error, startRevision), at, connectedForMs });
      });
      this.cancelCurrentWatch = () => {
        finish({ kind: 'stopped' });
        return watcher.cancel().catch(() => undefined);
      };
    });
  }

  private applyResponse(response: IWatchResponse, seenAt: number): void {
    // Progress notifications (no events) are not used to advance the resume revision: etcd before 3.4.24 /
    // 3.5.8 could send one ahead of events still queued for this watcher. Resuming from the last event is exact.
    if (response.events.length === 0) return;
    for (const event of response.events) {
      const key = event.kv.key.toString('utf8');
      const modRevision = String(event.kv.mod_revision);
      if (event.type === 'Put') this.store.applyPut(key, event.kv.value, String(event.kv.lease ?? '0'), modRevision);
      else this.store.applyDelete(key, modRevision);
      if (BigInt(modRevision) > BigInt(this.lastRevision)) this.lastRevision = modRevision;
    }
    this.counters.eventsApplied += response.events.length;
    this.nextDelayMs = this.retryInitialMs; // events flowing: the connection is healthy again
    this.emitChange(seenAt);
  }

  private noteFailure(err: unknown, message: string): void {
    this.lastError = errorMessage(err);
    this.emit('failure', err);
    this.consecutiveFailures++;
    const now = Date.now();
    this.failingSince ??= now;
    // The first failure of a series is a warning, and so is one every REPEAT_WARNING_MS while it lasts; the rest debug.
    const warn = this.consecutiveFailures === 1 || now - this.lastWarnAt >= REPEAT_WARNING_MS;
    if (warn) this.lastWarnAt = now;
    const failingForS = Math.round((now - this.failingSince) / 1000);
    this.logger[warn ? 'warn' : 'debug']({ err: this.lastError, prefix: this.prefix, revision: this.lastRevision, failingForS }, message);
  }

  private recovered(): void {
    if (this.failingSince !== undefined) {
      this.logger.info({ prefix: this.prefix, failedForS: Math.round((Date.now() - this.failingSince) / 1000) }, 'etcd answers again');
    }
    this.consecutiveFailures = 0;
    this.failingSince = undefined;
  }

  private emitChange(changeSeenAt: number): void {
    try {
      this.emit('change', this.store.commit(changeSeenAt));
    } catch (err) {
      // A listener's bug must not break the watch (etcd3 would rethrow it outside any handler).
      this.logger.error({ err }, 'registry change listener threw');
    }
  }

  private setState(state: WatchState, reason?: string): void {
    if (state === this.currentState) return;
    const previous = this.currentState;
    this.currentState = state;
    this.logger.debug({ state, previous, ...(reason !== undefined && { reason }) }, 'registry watch state');
    try {
      this.emit('state', { state, previous, ...(reason !== undefined && { reason }) });
    } catch (err) {
      this.logger.error({ err }, 'registry state listener threw');
    }
  }

  /** The next retry delay (with ±20% jitter so replicas do not retry in lockstep); doubles up to the cap. */
  private takeDelay(): number {
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.retryMaxMs, this.nextDelayMs * 2);
    return Math.round(delay * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeFromSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeFromSleep = done;
    });
  }
}

/** The registry's watcher: the service prefix into a RegistryStore. */
export class RegistryWatcher extends PrefixWatcher<RegistryChange> {
  private readonly registry: RegistryStore;

  constructor(options: PrefixWatcherOptions & { store?: RegistryStore }) {
    const store = options.store ?? new RegistryStore({ prefix: options.prefix, logger: options.logger });
    super(options, store);
    this.registry = store;
  }

  view(): RegistryView {
    return this.registry.view();
  }
}
