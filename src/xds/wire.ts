// Reading requests and framing responses. Requests arrive as proto-loader objects, bounded here before anything else
// sees them; responses are written as bytes assembled from per-resource pieces encoded once (the Any, or the delta
// Resource wrapper) and shared by every stream.
import protobuf from 'protobufjs';
import { plainNodeMetadata } from '../views/node-metadata.js';
import type { EncodedResource, TypeUrl } from '../snapshot/types.js';
import type { NodeInfo, XdsProtocol } from './types.js';

/** A request in the shape the stream engine works with, whichever protocol carried it. */
export interface XdsRequest {
  typeUrl: string;
  node?: NodeInfo;
  /** response_nonce: empty on a type's first request and after a reconnect. */
  nonce: string;
  /** error_detail.message when the client rejected the response (NACK), cut to REQUEST_LIMITS.errorMessageChars. */
  errorMessage?: string;
  /** State-of-the-world: the full list of names the client wants (empty = wildcard on first CDS/LDS request). */
  resourceNames?: string[];
  /** Delta: changes to the subscription and, on a new stream, what the client already has. */
  subscribe?: string[];
  unsubscribe?: string[];
  initialVersions?: Record<string, string>;
}

/** What the engine decided to send on one type; framed differently for SotW and delta. */
export interface XdsResponse {
  typeUrl: TypeUrl;
  nonce: string;
  /** SotW version_info (content-derived per response) / delta system_version_info (snapshot version). */
  version: string;
  resources: readonly EncodedResource[];
  /** Delta only: names the client must drop (or that do not exist). */
  removed: readonly string[];
  /** Resource TTL for clients that support it: each resource carries it, and heartbeats renew it. */
  ttlMs?: number;
  /** A heartbeat renews the TTL of what the client holds: name and the version it ACKed, no body (resources is empty). */
  heartbeat?: ReadonlyArray<{ name: string; version: string }>;
}

/**
 * Bounds on what one client may send; every field of a request is unauthenticated input. A request beyond them is
 * refused with INVALID_ARGUMENT and its stream ends (RefusedRequest). Defaults:
 * - resource names per request (SotW resource_names; delta subscribe + unsubscribe + initial_resource_versions):
 *   100,000 — a 10,000-cluster Envoy names each cluster's assignment once. Counted on the wire before anything is
 *   decoded, so an oversized request costs no decoding. `maxResourceNames` is the XdsServer option.
 * - one resource name: 2 KiB (service names are at most 128 characters).
 * - the node: 64 KiB encoded (metadata included); its id 4 KiB; cluster, user agent name and version and each
 *   locality field 1 KiB; at most 128 client_features of at most 256 characters each.
 * - a NACK's error_detail message is kept to its first 4 KiB (views and logs repeat it); it is never refused.
 * The whole message is bounded by the gRPC server's grpc.max_receive_message_length (XdsServer: 4 MiB).
 */
export const REQUEST_LIMITS = {
  maxResourceNames: 100_000,
  resourceNameBytes: 2048,
  nodeBytes: 64 * 1024,
  nodeIdChars: 4096,
  nodeFieldChars: 1024,
  clientFeatures: 128,
  clientFeatureChars: 256,
  errorMessageChars: 4096,
};

/** Node ids (and the node's cluster and user agent) in logs are cut to this many characters. */
export const LOGGED_NODE_ID_CHARS = 256;

/** A request beyond REQUEST_LIMITS (or otherwise unacceptable): the stream ends with INVALID_ARGUMENT. */
export class RefusedRequest extends Error {
  override readonly name = 'RefusedRequest';
}

/** `value` cut to `max` characters, marked when cut. */
export function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…[${value.length - max} more]`;
}

interface RawNode {
  id?: string;
  cluster?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
  user_agent_build_version?: { version?: { major_number?: number; minor_number?: number; patch?: number } };
  client_features?: string[];
  metadata?: unknown;
}

const REFUSAL = Symbol('refused request');

/** A request as proto-loader decodes it, or the refusal the wire scan put in its place. */
export interface RawRequest {
  type_url?: string;
  node?: RawNode | null;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
  resource_names?: string[];
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  [REFUSAL]?: string;
}


const LENGTH_DELIMITED = 2;

/** Field numbers of what the wire scan bounds: the node, and the fields naming resources. */
const SCANNED_FIELDS: Record<XdsProtocol, { node: number; names: readonly number[] }> = {
  // DiscoveryRequest: node = 2, resource_names = 3.
  sotw: { node: 2, names: [3] },
  // DeltaDiscoveryRequest: node = 1, subscribe = 3, unsubscribe = 4, initial_resource_versions = 5 (map entries).
  delta: { node: 1, names: [3, 4, 5] },
};

/**
 * Reads only the top-level field headers of an encoded request: why it must be refused (too many names, a name or
 * node too large), or undefined. Linear in the number of fields and never decodes a string, so a request naming
 * a million resources is refused at the cost of a scan. Malformed bytes are left to the decoder.
 */
export function scanRequest(bytes: Uint8Array, protocol: XdsProtocol, maxResourceNames = REQUEST_LIMITS.maxResourceNames): string | undefined {
  const fields = SCANNED_FIELDS[protocol];
  const reader = protobuf.Reader.create(bytes);
  let names = 0;
  try {
    while (reader.pos < reader.len) {
      const header = reader.uint32();
      const field = header >>> 3;
      const wireType = header & 7;
      if (wireType !== LENGTH_DELIMITED) {
        reader.skipType(wireType);
        continue;
      }
      const length = reader.uint32();
      if (field === fields.node && length > REQUEST_LIMITS.nodeBytes) return `node is ${length} bytes, more than ${REQUEST_LIMITS.nodeBytes}`;
      if (fields.names.includes(field)) {
        names += 1;
        if (names > maxResourceNames) return `request names more than ${maxResourceNames} resources`;
        // A map entry holds a name and a version: allow both.
        const limit = field === 5 ? 2 * REQUEST_LIMITS.resourceNameBytes + 16 : REQUEST_LIMITS.resourceNameBytes;
        if (length > limit) return `a resource name is ${length} bytes, more than ${REQUEST_LIMITS.resourceNameBytes}`;
      }
      reader.skip(length);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Wraps a request decoder: requests the scan refuses are not decoded, and carry the refusal instead. */
export function boundedDecoder(decode: (bytes: Buffer) => unknown, protocol: XdsProtocol, maxResourceNames: number): (bytes: Buffer) => RawRequest {
  return (bytes) => {
    const refusal = scanRequest(bytes, protocol, maxResourceNames);
    return refusal !== undefined ? { [REFUSAL]: refusal } : (decode(bytes) as RawRequest);
  };
}

function bounded(value: string | undefined, max: number, what: string): string {
  const text = value ?? '';
  if (text.length > max) throw new RefusedRequest(`node ${what} is ${text.length} characters, more than ${max}`);
  return text;
}

// A node without locality, features or metadata shares these: every stream keeps its node.
const NO_LOCALITY: NodeInfo['locality'] = Object.freeze({});
const NO_FEATURES = Object.freeze<string[]>([]) as string[];
const NO_METADATA: NonNullable<NodeInfo['metadata']> = Object.freeze({});

function readNode(raw: RawNode | null | undefined): NodeInfo | undefined {
  if (!raw) return undefined;
  const build = raw.user_agent_build_version?.version;
  const field = REQUEST_LIMITS.nodeFieldChars;
  const locality = raw.locality;
  const features = raw.client_features ?? [];
  if (features.length > REQUEST_LIMITS.clientFeatures) throw new RefusedRequest(`node has ${features.length} client_features, more than ${REQUEST_LIMITS.clientFeatures}`);
  for (const feature of features) bounded(feature, REQUEST_LIMITS.clientFeatureChars, 'client feature');
  const region = bounded(locality?.region, field, 'locality.region');
  const zone = bounded(locality?.zone, field, 'locality.zone');
  const subZone = bounded(locality?.sub_zone, field, 'locality.sub_zone');
  const metadata = plainNodeMetadata(raw.metadata);
  return {
    id: bounded(raw.id, REQUEST_LIMITS.nodeIdChars, 'id'),
    cluster: bounded(raw.cluster, field, 'cluster'),
    locality: region || zone || subZone ? { ...(region ? { region } : {}), ...(zone ? { zone } : {}), ...(subZone ? { subZone } : {}) } : NO_LOCALITY,
    userAgentName: bounded(raw.user_agent_name, field, 'user_agent_name'),
    userAgentVersion: bounded(raw.user_agent_version, field, 'user_agent_version') || (build ? `${build.major_number ?? 0}.${build.minor_number ?? 0}.${build.patch ?? 0}` : ''),
    clientFeatures: features.length > 0 ? features : NO_FEATURES,
    metadata: Object.keys(metadata).length > 0 ? metadata : NO_METADATA,
  };
}

function readCommon(raw: RawRequest): XdsRequest {
  const refusal = raw[REFUSAL];
  if (refusal !== undefined) throw new RefusedRequest(refusal);
  const request: XdsRequest = { typeUrl: raw.type_url ?? '', nonce: raw.response_nonce ?? '' };
  const node = readNode(raw.node);
  if (node) request.node = node;
  // A NACK is any request carrying error_detail; some clients send code 0 with a message.
  if (raw.error_detail && (raw.error_detail.message || raw.error_detail.code)) {
    request.errorMessage = truncate(raw.error_detail.message || `error code ${raw.error_detail.code}`, REQUEST_LIMITS.errorMessageChars);
  }
  return request;
}

/** A SotW request; throws RefusedRequest beyond REQUEST_LIMITS. */
export function readSotwRequest(raw: RawRequest): XdsRequest {
  return { ...readCommon(raw), resourceNames: raw.resource_names ?? [] };
}

/** A delta request; throws RefusedRequest beyond REQUEST_LIMITS. */
export function readDeltaRequest(raw: RawRequest): XdsRequest {
  return {
    ...readCommon(raw),
    subscribe: raw.resource_names_subscribe ?? [],
    unsubscribe: raw.resource_names_unsubscribe ?? [],
    initialVersions: raw.initial_resource_versions ?? {},
  };
}

const tag = (field: number) => (field << 3) | LENGTH_DELIMITED;

const anyCache = new WeakMap<EncodedResource, Uint8Array>();
const deltaResourceCache = new WeakMap<EncodedResource, Uint8Array>();

/** google.protobuf.Any {type_url = 1, value = 2}, encoded once per resource version. */
function anyBytes(resource: EncodedResource): Uint8Array {
  let bytes = anyCache.get(resource);
  if (!bytes) {
    bytes = protobuf.Writer.create().uint32(tag(1)).string(resource.typeUrl).uint32(tag(2)).bytes(resource.body).finish();
    anyCache.set(resource, bytes);
  }
  return bytes;
}

/** envoy.service.discovery.v3.Resource {version = 1, resource = 2, name = 3}, encoded once per resource version. */
function deltaResourceBytes(resource: EncodedResource): Uint8Array {
  let bytes = deltaResourceCache.get(resource);
  if (!bytes) {
    bytes = protobuf.Writer.create()
      .uint32(tag(1)).string(resource.version)
      .uint32(tag(2)).bytes(anyBytes(resource))
      .uint32(tag(3)).string(resource.name)
      .finish();
    deltaResourceCache.set(resource, bytes);
  }
  return bytes;
}

const RESOURCE_WRAPPER_TYPE_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';
const VARINT = 0;

/**
 * Resource {version = 1, resource = 2, name = 3, ttl = 6} carrying a TTL; a heartbeat has no body and carries the
 * version the client ACKed. Built per response: only streams of clients that announced TTL support get these.
 */
function resourceWithTtl(name: string, version: string, body: Uint8Array | undefined, ttlMs: number): Uint8Array {
  const writer = protobuf.Writer.create().uint32(tag(1)).string(version);
  if (body) writer.uint32(tag(2)).bytes(body);
  writer.uint32(tag(3)).string(name);
  const seconds = Math.floor(ttlMs / 1000);
  const nanos = (ttlMs % 1000) * 1_000_000;
  const duration = protobuf.Writer.create();
  if (seconds) duration.uint32((1 << 3) | VARINT).int64(seconds);
  if (nanos) duration.uint32((2 << 3) | VARINT).int32(nanos);
  return writer.uint32(tag(6)).bytes(duration.finish()).finish();
}

/**
 * The Resource entries of a response carrying TTLs (every resource with its body, or the heartbeat's bodiless ones),
 * or undefined when the response carries none.
 */
function ttlEntries(response: XdsResponse): Uint8Array[] | undefined {
  const ttlMs = response.ttlMs;
  if (ttlMs === undefined) return undefined;
  if (response.heartbeat) return response.heartbeat.map((held) => resourceWithTtl(held.name, held.version, undefined, ttlMs));
  return response.resources.map((r) => resourceWithTtl(r.name, r.version, anyBytes(r), ttlMs));
}

/** The writer's bytes as a Buffer without copying them (gRPC writes Buffers). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * DiscoveryResponse {version_info = 1, resources = 2, type_url = 4, nonce = 5}. Clients with
 * `xds.config.resource-in-sotw` get each resource inside a Resource wrapper (for its TTL).
 */
export function encodeSotwResponse(response: XdsResponse): Buffer {
  const writer = protobuf.Writer.create().uint32(tag(1)).string(response.version);
  const wrapped = ttlEntries(response);
  if (wrapped) {
    for (const entry of wrapped) {
      writer.uint32(tag(2)).bytes(protobuf.Writer.create().uint32(tag(1)).string(RESOURCE_WRAPPER_TYPE_URL).uint32(tag(2)).bytes(entry).finish());
    }
  } else {
    for (const resource of response.resources) writer.uint32(tag(2)).bytes(anyBytes(resource));
  }
  writer.uint32(tag(4)).string(response.typeUrl).uint32(tag(5)).string(response.nonce);
  return asBuffer(writer.finish());
}

/** DeltaDiscoveryResponse {system_version_info = 1, resources = 2, type_url = 4, nonce = 5, removed_resources = 6}. */
export function encodeDeltaResponse(response: XdsResponse): Buffer {
  const writer = protobuf.Writer.create().uint32(tag(1)).string(response.version);
  const entries = ttlEntries(response) ?? response.resources.map(deltaResourceBytes);
  for (const entry of entries) writer.uint32(tag(2)).bytes(entry);
  writer.uint32(tag(4)).string(response.typeUrl).uint32(tag(5)).string(response.nonce);
  for (const name of response.removed) writer.uint32(tag(6)).string(name);
  return asBuffer(writer.finish());
}
