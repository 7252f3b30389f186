// Reads every key under the prefix at one etcd revision, page by page.
// grpc-js refuses messages over its receive limit (4 MiB unless raised), so a registry of thousands of keys
// is read in pages that continue from the last key, all pinned to the revision of the first page. A page
// refused as too large fails the listing with PageTooLargeError carrying a page size that fits: the etcd3
// client has by then retried the call and opened its circuit breaker for a few seconds, so the caller retries
// the whole listing later with the smaller size (a page of one key always fits: etcd caps a value at 1.5 MiB
// by default).
import { Range, type Etcd3, type IKeyValue } from 'etcd3';
import type { StoredKeyValue } from './store.js';

export interface PrefixListing {
  /** Keys read in all. */
  keys: number;
  /** The etcd revision every page was read at; watch from revision + 1. */
  revision: string;
}

export const DEFAULT_PAGE_SIZE = 500;

/** True for gRPC RESOURCE_EXHAUSTED (code 8), which grpc-js uses for "message larger than max". */
export function isResourceExhausted(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === 8 || (typeof message === 'string' && /RESOURCE_EXHAUSTED|larger than max/i.test(message));
}

/** A range page exceeded the client's receive limit; list again with `suggestedPageSize` keys per page. */
export class PageTooLargeError extends Error {
  constructor(
    readonly pageSize: number,
    readonly suggestedPageSize: number,
    cause: unknown,
  ) {
    super(`a page of ${pageSize} keys exceeded the gRPC receive limit; retrying with ${suggestedPageSize}`, { cause });
  }
}

/** A smaller page size, from grpc-js's "larger than max (600288 vs 262144)" when present, else half. */
function smallerPageSize(pageSize: number, err: unknown): number {
  const sizes = /\((\d+) vs (\d+)\)/.exec(err instanceof Error ? err.message : '');
  const ratio = sizes ? Number(sizes[2]) / Number(sizes[1]) : 0.5;
  return Math.max(1, Math.min(pageSize - 1, Math.floor(pageSize * ratio * 0.8)));
}

export function toStoredKeyValue(kv: IKeyValue): StoredKeyValue {
  return { key: kv.key.toString('utf8'), value: kv.value, lease: String(kv.lease ?? '0'), modRevision: String(kv.mod_revision) };
}

/**
 * Hands each page to `onPage` as it arrives (with the number of keys read so far), so a large registry is parsed
 * page by page instead of being held whole; the caller's awaits between pages keep the event loop answering.
 */
export async function listPrefix(
  client: Etcd3,
  prefix: string,
  pageSize: number,
  onPage: (kvs: StoredKeyValue[], keysSoFar: number) => void | Promise<void>,
): Promise<PrefixListing> {
  const { end } = Range.prefix(prefix);
  let start: Buffer = Buffer.from(prefix, 'utf8');
  const limit = Math.max(1, pageSize);
  let revision: string | undefined;
  let keys = 0;
  for (;;) {
    const request = client.getAll().inRange({ start, end }).limit(limit);
    if (revision !== undefined) request.revision(revision);
    let response;
    try {
      response = await request.exec();
    } catch (err) {
      if (isResourceExhausted(err) && limit > 1) throw new PageTooLargeError(limit, smallerPageSize(limit, err), err);
      throw err;
    }
    revision ??= String(response.header.revision);
    keys += response.kvs.length;
    await onPage(response.kvs.map(toStoredKeyValue), keys);
    const last = response.kvs[response.kvs.length - 1];
    if (!response.more || !last) break;
    start = Buffer.concat([last.key, Buffer.from([0])]); // the next key after `last`
  }
  return { keys, revision };
}

/** Every key under the prefix at one revision, in memory: for small prefixes read once (CLI previews). */
export async function readPrefix(client: Etcd3, prefix: string): Promise<{ kvs: StoredKeyValue[]; revision: string }> {
  const kvs: StoredKeyValue[] = [];
  const { revision } = await listPrefix(client, prefix, DEFAULT_PAGE_SIZE, (page) => {
    kvs.push(...page);
  });
  return { kvs, revision };
}
