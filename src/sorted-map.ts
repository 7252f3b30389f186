// Persistent sorted maps: the registry view and every snapshot hold their entries in a B+ tree whose clone() is
// O(1) and copy-on-write, so a new view or snapshot after one change shares every untouched node with the previous
// one instead of copying a fleet-sized Map. Iteration is in key order (UTF-16 code units), the same on every replica.
import sortedBtree from 'sorted-btree';
import type BTreeType from 'sorted-btree';

// sorted-btree is CommonJS with an `exports.default` class: Node's ESM loader hands out the module object as the
// default import, bundlers that honour __esModule (vitest) hand out the class itself.
const loaded = sortedBtree as unknown as typeof BTreeType.default | { default: typeof BTreeType.default };
const BTree = typeof loaded === 'function' ? loaded : loaded.default;
type BTree<K, V> = BTreeType.default<K, V>;

/** The read side that views and snapshots expose: a ReadonlyMap in key order that can start from a key. */
export interface SortedMapView<K, V> extends Iterable<[K, V]> {
  readonly size: number;
  get(key: K): V | undefined;
  has(key: K): boolean;
  /** Keys in order, from `first` (inclusive) when given. */
  keys(first?: K): IterableIterator<K>;
  values(first?: K): IterableIterator<V>;
  entries(first?: K): IterableIterator<[K, V]>;
}

/** A tree being edited into the next version; `seal()` freezes it and hands out the read side. */
export type SortedMapDraft<V> = BTree<string, V>;

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function emptySortedMap<V>(): SortedMapDraft<V> {
  return new BTree<string, V>(undefined, byCodeUnits);
}

/** A draft of the next version of `map` that shares all of its nodes until edited. */
export function draftOf<V>(map: SortedMapView<string, V>): SortedMapDraft<V> {
  if (map instanceof BTree) return (map as unknown as SortedMapDraft<V>).clone();
  const draft = emptySortedMap<V>();
  for (const [key, value] of map) draft.set(key, value);
  return draft;
}

export function seal<V>(draft: SortedMapDraft<V>): SortedMapView<string, V> {
  draft.freeze();
  // The tree iterates as entries() at run time; its type declarations only omit [Symbol.iterator].
  return draft as unknown as SortedMapView<string, V>;
}

/** Up to `limit` entries after `cursor` (exclusive), in key order: one page of a paginated view. */
export function pageAfter<V>(map: SortedMapView<string, V>, cursor: string | undefined, limit: number): Array<[string, V]> {
  const page: Array<[string, V]> = [];
  if (limit <= 0) return page;
  for (const entry of map.entries(cursor)) {
    if (cursor !== undefined && entry[0] === cursor) continue;
    page.push(entry);
    if (page.length >= limit) break;
  }
  return page;
}
