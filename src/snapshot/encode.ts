// Encoding a resource once: protobuf bytes, a version derived from those bytes, and proto3 JSON for the debug API.
import { createHash } from 'node:crypto';
import { envoyType } from '../protos/envoy-protos.js';
import type { EncodedResource, TypeUrl } from './types.js';

const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Packs a message as google.protobuf.Any (for typed_config and api_listener fields). */
export function packAny<M extends object>(fullName: string, message: M): { type_url: string; value: Buffer } {
  const type = envoyType(fullName);
  return { type_url: TYPE_URL_PREFIX + fullName, value: Buffer.from(type.encode(type.fromObject(message as Record<string, unknown>)).finish()) };
}

/** Versions are a short hash of the encoded bytes: equal content gives equal versions on every replica. */
export function contentVersion(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** Version of a set of resources (a response's content): derived from their names and versions. */
export function contentSetVersion(resources: readonly EncodedResource[]): string {
  return contentVersion(resources.map((r) => `${r.name}|${r.version}`).join('\n'));
}

/**
 * Encodes one resource. Callers build messages with sorted map keys so that protobufjs' encoding (which follows
 * object key order for maps) is deterministic.
 */
export function encodeResource(typeUrl: TypeUrl, name: string, message: object): EncodedResource {
  const type = envoyType(typeUrl.slice(TYPE_URL_PREFIX.length));
  const body = type.encode(type.fromObject(message as Record<string, unknown>)).finish();
  let json: Record<string, unknown> | undefined;
  return {
    typeUrl,
    name,
    version: contentVersion(body),
    body,
    // Only the debug API reads JSON: decode on first use rather than on every build.
    get json() {
      json ??= type.toObject(type.decode(body), { enums: String, longs: String, bytes: String, defaults: false, json: true });
      return json;
    },
  };
}

/** Returns a copy of a string map with keys in sorted order. */
export function sortedRecord<V>(record: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
