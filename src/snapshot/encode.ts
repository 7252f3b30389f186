// Encoding a resource once: protobuf bytes, a version derived from those bytes, and proto3 JSON for the debug API.
import { createHash } from 'node:crypto';
import type protobuf from 'protobufjs';
import { envoyType } from '../protos/envoy-protos.js';
import type { EncodedResource, TypeUrl } from './types.js';

const TYPE_URL_PREFIX = 'type.googleapis.com/';

const types = new Map<string, protobuf.Type>();

/** Message types by full name, looked up in the Envoy root once (a lookup walks namespaces: not per resource). */
function typeOf(fullName: string): protobuf.Type {
  let type = types.get(fullName);
  if (!type) {
    type = envoyType(fullName);
    types.set(fullName, type);
  }
  return type;
}

/** Packs a message as google.protobuf.Any (for typed_config and api_listener fields). */
export function packAny<M extends object>(fullName: string, message: M): { type_url: string; value: Buffer } {
  const type = typeOf(fullName);
  return { type_url: TYPE_URL_PREFIX + fullName, value: Buffer.from(type.encode(type.fromObject(message as Record<string, unknown>)).finish()) };
}

/** Versions are a short hash of the encoded bytes: equal content gives equal versions on every replica. */
export function contentVersion(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

const DIGEST_MASK = (1n << 64n) - 1n;

/**
 * A resource's share of every set version: its version's 64 bits. Every resource type served here carries its own
 * name in its body (Cluster.name, ClusterLoadAssignment.cluster_name, Listener.name, RouteConfiguration.name), so the
 * version already tells apart two resources of one type.
 */
export function resourceDigest(version: string): bigint {
  return BigInt(`0x${version}`);
}

/** Adds (or with sign -1n removes) one digest to a set sum, modulo 2^64. */
export function combineDigest(sum: bigint, digest: bigint, sign: 1n | -1n = 1n): bigint {
  return (sum + sign * digest) & DIGEST_MASK;
}

export function setVersionOf(sum: bigint): string {
  return sum.toString(16).padStart(16, '0');
}

/**
 * Version of a set of resources (a response's content): the sum of their digests, so it does not depend on order
 * and a snapshot can keep it per type from the changed resources alone.
 */
export function contentSetVersion(resources: Iterable<EncodedResource>): string {
  let sum = 0n;
  for (const resource of resources) sum = combineDigest(sum, resource.digest);
  return setVersionOf(sum);
}

/**
 * Encodes one resource. Callers build messages with sorted map keys so that protobufjs' encoding (which follows
 * object key order for maps) is deterministic.
 */
export function encodeResource(typeUrl: TypeUrl, name: string, message: object): EncodedResource {
  const type = typeOf(typeUrl.slice(TYPE_URL_PREFIX.length));
  const body = type.encode(type.fromObject(message as Record<string, unknown>)).finish();
  const version = contentVersion(body);
  let json: Record<string, unknown> | undefined;
  return {
    typeUrl,
    name,
    version,
    digest: resourceDigest(version),
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
