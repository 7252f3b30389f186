// `?limit=&cursor=` for the list endpoints: small defaults, so a request at fleet scale stays small unless asked.
import { BadRequest } from './request-target.js';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export interface PageRequest {
  limit: number;
  /** Only items strictly after this key; undefined for the first page. */
  cursor: string | undefined;
}

export function readPage(query: URLSearchParams, defaultLimit = DEFAULT_PAGE_LIMIT): PageRequest {
  const rawLimit = query.get('limit');
  let limit = defaultLimit;
  if (rawLimit !== null && rawLimit !== '') {
    limit = Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new BadRequest(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
    }
  }
  const cursor = query.get('cursor');
  return { limit, cursor: cursor === null || cursor === '' ? undefined : cursor };
}

/** Plain code-unit order, the order the registry iterates services in (no locale rules). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * One page of an ordered sequence: the first `limit` items after the cursor, and the cursor of the next page
 * (the last key returned) when more follow.
 */
export function takePage<T>(
  items: Iterable<T>,
  keyOf: (item: T) => string,
  page: PageRequest,
): { items: T[]; nextCursor: string | null } {
  const out: T[] = [];
  for (const item of items) {
    if (page.cursor !== undefined && compareNames(keyOf(item), page.cursor) <= 0) continue;
    if (out.length === page.limit) return { items: out, nextCursor: keyOf(out[out.length - 1]!) };
    out.push(item);
  }
  return { items: out, nextCursor: null };
}
