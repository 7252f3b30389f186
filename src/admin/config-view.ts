// /debug/config: every configuration object and every rejected value, one entry per etcd key, with its state, why
// it was rejected, the spec that serves, and which connected nodes that spec reaches.
import { KIND_NAMES, kindNamed } from '../config/kinds.js';
import type { ConfigKindName, ConfigObject, ConfigRejection, ConfigView, Gateway, ServicePolicy } from '../config/types.js';
import type { ConfigError } from '../config/schema.js';
import { viewAffectedBy } from '../views/affected.js';
import { NodeReach, type NodesReached } from './node-reach.js';
import { compareNames, readPage, takePage, type PageRequest } from './paging.js';
import { BadRequest, optionalParam } from './request-target.js';
import type { AdminState } from './state.js';
import { StreamViews } from './stream-views.js';
import { VIEW_MESSAGE_LIMIT, capText } from './view-limits.js';

// A record keyed by every member makes this list fail to compile when the union gains one.
export const CONFIG_STATES = Object.keys({
  serving: 1,
  'rejected, last good value serving': 1,
  'rejected, nothing serving': 1,
} satisfies Record<ConfigState, 1>) as ConfigState[];

/** `serving`: the stored value validated and serves. Otherwise it was rejected, and the last good value, if any, serves. */
export type ConfigState = 'serving' | 'rejected, last good value serving' | 'rejected, nothing serving';

export interface ConfigEntryView {
  /** null when the key names no kind (a key under the config prefix that fits neither schema). */
  kind: ConfigKindName | null;
  name: string;
  key: string;
  /** Of the value stored in etcd now: the rejected one while the key is rejected. */
  modRevision: string;
  state: ConfigState;
  /** The spec that serves (the last good value while rejected); null when nothing serves. */
  spec: ServicePolicy | Gateway | null;
  /** The revision of the value that serves. */
  specModRevision: string | null;
  /** Why the stored value was refused: `reason` is every error as `path: message`, joined by "; ". */
  rejected: { reason: string; errors: ConfigError[]; valuePreview: string; keepsLastGood: boolean } | null;
  /** Connected nodes the serving spec reaches (none when nothing serves). */
  reaches: NodesReached;
}

export interface ConfigResponse {
  /** The etcd revision the configuration reflects. */
  revision: string;
  /** Entries matching the filter over every page, and how many are in each state. */
  total: number;
  byState: Record<ConfigState, number>;
  /** This page, in key order. */
  entries: ConfigEntryView[];
  /** The last key of this page when more follow (pass it back as `?cursor=`); null on the last page. */
  nextCursor: string | null;
}

export type ConfigStateFilter = 'serving' | 'rejected';

export interface ConfigQuery {
  kind?: ConfigKindName;
  /** `serving`: keys whose stored value serves; `rejected`: keys whose stored value was refused. */
  state?: ConfigStateFilter;
  /** Exactly this object name. */
  name?: string;
  page: PageRequest;
}

/** `?kind=`: a kind as people type it (see kindNamed). */
export function parseConfigKind(text: string): ConfigKindName {
  const kind = kindNamed(text);
  if (!kind) throw new BadRequest(`unknown kind "${capText(text, 100)}": use ${KIND_NAMES.join(' or ')}`);
  return kind;
}

export function parseConfigStateFilter(text: string): ConfigStateFilter {
  if (text === 'serving' || text === 'rejected') return text;
  throw new BadRequest(`unknown state "${capText(text, 100)}": use serving or rejected`);
}

type AnyConfigObject = ConfigObject<ServicePolicy> | ConfigObject<Gateway>;

/** `?kind=&state=&name=&limit=&cursor=` of /debug/config and /config; an unknown kind or state is a BadRequest. */
export function readConfigQuery(query: URLSearchParams, defaultLimit?: number): ConfigQuery {
  const kind = optionalParam(query, 'kind');
  const state = optionalParam(query, 'state');
  const name = optionalParam(query, 'name');
  return {
    ...(kind !== undefined ? { kind: parseConfigKind(kind) } : {}),
    ...(state !== undefined ? { state: parseConfigStateFilter(state) } : {}),
    ...(name !== undefined ? { name } : {}),
    page: readPage(query, defaultLimit),
  };
}

interface Entry {
  key: string;
  kind: ConfigKindName | undefined;
  name: string;
  object: AnyConfigObject | undefined;
  rejection: ConfigRejection | undefined;
  state: ConfigState;
}

function entriesOf(config: ConfigView): Entry[] {
  const objects = new Map<string, AnyConfigObject>();
  for (const object of config.policies.values()) objects.set(object.key, object);
  for (const object of config.gateways.values()) objects.set(object.key, object);
  const keys = new Set([...objects.keys(), ...config.rejected.keys()]);
  return [...keys].sort(compareNames).map((key) => {
    const object = objects.get(key);
    const rejection = config.rejected.get(key);
    const state: ConfigState = !rejection ? 'serving' : object ? 'rejected, last good value serving' : 'rejected, nothing serving';
    return { key, kind: object?.kind ?? rejection?.kind, name: object?.name ?? rejection?.name ?? '', object, rejection, state };
  });
}

function matches(entry: Entry, query: ConfigQuery): boolean {
  if (query.kind !== undefined && entry.kind !== query.kind) return false;
  if (query.name !== undefined && entry.name !== query.name) return false;
  if (query.state === 'serving') return entry.state === 'serving';
  if (query.state === 'rejected') return entry.state !== 'serving';
  return true;
}

const NO_NODES: NodesReached = { count: 0, nodes: [] };

function entryView(entry: Entry, reachOf: (object: AnyConfigObject) => NodesReached): ConfigEntryView {
  const { object, rejection } = entry;
  return {
    kind: entry.kind ?? null,
    name: capText(entry.name),
    key: capText(entry.key, VIEW_MESSAGE_LIMIT),
    modRevision: rejection?.modRevision ?? object!.modRevision,
    state: entry.state,
    spec: object?.spec ?? null,
    specModRevision: object?.modRevision ?? null,
    rejected: rejection
      ? { reason: rejection.reason, errors: rejection.errors, valuePreview: rejection.valuePreview, keepsLastGood: rejection.keepsLastGood }
      : null,
    reaches: object ? reachOf(object) : NO_NODES,
  };
}

function countByState(entries: readonly Entry[]): Record<ConfigState, number> {
  const byState = Object.fromEntries(CONFIG_STATES.map((s) => [s, 0])) as Record<ConfigState, number>;
  for (const entry of entries) byState[entry.state] += 1;
  return byState;
}

/** Builds entry views; the nodes are grouped by view the first time an entry needs them, once per request. */
function entryViews(state: AdminState, config: ConfigView): (entries: readonly Entry[]) => ConfigEntryView[] {
  let reach: NodeReach | undefined;
  // A ServicePolicy reaches the views that hold its service (every proxyless one); a Gateway the Envoy views it matched.
  const reachOf = (object: AnyConfigObject): NodesReached => {
    reach ??= new NodeReach(state.streams(), new StreamViews(state));
    return reach.reach((spec) => viewAffectedBy(spec, { kind: object.kind, name: object.name }, config));
  };
  return (entries) => entries.map((entry) => entryView(entry, reachOf));
}

export function configView(state: AdminState, query: ConfigQuery): ConfigResponse {
  const config = state.config();
  const matching = entriesOf(config).filter((entry) => matches(entry, query));
  const page = takePage(matching, (entry) => entry.key, query.page);
  return {
    revision: config.revision,
    total: matching.length,
    byState: countByState(matching),
    entries: entryViews(state, config)(page.items),
    nextCursor: page.nextCursor,
  };
}

export type ConfigOverview = Omit<ConfigResponse, 'nextCursor'>;

/** The counts in one line, as the page and `etcd-xds config status` print them. */
export function configCountsText(config: ConfigOverview): string {
  const keeping = config.byState['rejected, last good value serving'];
  const rejected = keeping + config.byState['rejected, nothing serving'];
  return [
    `${config.total} ${config.total === 1 ? 'key' : 'keys'}`,
    `${config.byState.serving} serving`,
    rejected > 0 ? `${rejected} rejected (${keeping} keeping the last good value)` : 'none rejected',
    `revision ${config.revision}`,
  ].join(' · ');
}

/** Counts over every key and at most `limit` entries, the rejected ones first (the page's summary of it). */
export function configOverview(state: AdminState, limit: number): ConfigOverview {
  const config = state.config();
  const entries = entriesOf(config);
  const rejected = entries.filter((entry) => entry.state !== 'serving').slice(0, limit);
  const serving = entries.filter((entry) => entry.state === 'serving').slice(0, limit - rejected.length);
  return { revision: config.revision, total: entries.length, byState: countByState(entries), entries: entryViews(state, config)([...rejected, ...serving]) };
}
