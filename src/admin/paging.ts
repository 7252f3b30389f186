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

/**
 * Where one page over several ordered name lists ends (each already cut to the names after the cursor): at the
 * smallest `limit`-th name among the lists that have more than `limit` left, so no list gives more than `limit`
 * and no name is skipped. Undefined when every list fits: the last page.
 */
export function pageEndAcross(lists: Iterable<readonly string[]>, limit: number): string | undefined {
  let end: string | undefined;
  for (const names of lists) {
    const last = names.length > limit ? names[limit - 1]! : undefined;
    if (last !== undefined && (end === undefined || compareNames(last, end) < 0)) end = last;
  }
  return end;
}

/** The names of one list that fall in the page ending at `end` (see pageEndAcross). */
export function namesUpTo(names: readonly string[], limit: number, end: string | undefined): readonly string[] {
  return end === undefined ? names : names.slice(0, limit).filter((name) => compareNames(name, end) <= 0);
}

/** Names after the cursor, in order (sorted here only when the source does not iterate in order). */
export function orderedNamesAfter(source: Iterable<string>, cursor: string | undefined): string[] {
  const names: string[] = [];
  let ordered = true;
  for (const name of source) {
    if (ordered && names.length > 0 && compareNames(names[names.length - 1]!, name) > 0) ordered = false;
    names.push(name);
  }
  if (!ordered) names.sort(compareNames);
  if (cursor === undefined) return names;
  // First index past the cursor, by bisection.
  let low = 0;
  let high = names.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareNames(names[mid]!, cursor) <= 0) low = mid + 1;
    else high = mid;
  }
  return names.slice(low);
}
