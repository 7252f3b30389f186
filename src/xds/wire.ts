// Reading requests and framing responses. Requests arrive as proto-loader objects; responses are written as bytes
// assembled from per-resource pieces encoded once (the Any, or the delta Resource wrapper) and shared by every stream.
import protobuf from 'protobufjs';
import type { EncodedResource, TypeUrl } from '../snapshot/types.js';
import type { NodeInfo } from './types.js';

/** A request in the shape the stream engine works with, whichever protocol carried it. */
export interface XdsRequest {
  typeUrl: string;
  node?: NodeInfo;
  /** response_nonce: empty on a type's first request and after a reconnect. */
  nonce: string;
  /** error_detail.message when the client rejected the response (NACK). */
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
  /** A heartbeat renews the TTL of resources the client holds: name and version, no body. */
  heartbeat?: boolean;
}

interface RawNode {
  id?: string;
  cluster?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
  user_agent_build_version?: { version?: { major_number?: number; minor_number?: number; patch?: number } };
  client_features?: string[];
}

interface RawRequest {
  type_url?: string;
  node?: RawNode | null;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
  resource_names?: string[];
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
}

function readNode(raw: RawNode | null | undefined): NodeInfo | undefined {
  if (!raw) return undefined;
  const build = raw.user_agent_build_version?.version;
  return {
    id: raw.id ?? '',
    cluster: raw.cluster ?? '',
    locality: {
      ...(raw.locality?.region ? { region: raw.locality.region } : {}),
      ...(raw.locality?.zone ? { zone: raw.locality.zone } : {}),
      ...(raw.locality?.sub_zone ? { subZone: raw.locality.sub_zone } : {}),
    },
    userAgentName: raw.user_agent_name ?? '',
    userAgentVersion: raw.user_agent_version ?? (build ? `${build.major_number ?? 0}.${build.minor_number ?? 0}.${build.patch ?? 0}` : ''),
    clientFeatures: raw.client_features ?? [],
  };
}

function readCommon(raw: RawRequest): XdsRequest {
  const request: XdsRequest = { typeUrl: raw.type_url ?? '', nonce: raw.response_nonce ?? '' };
  const node = readNode(raw.node);
  if (node) request.node = node;
  // A NACK is any request carrying error_detail; some clients send code 0 with a message.
  if (raw.error_detail && (raw.error_detail.message || raw.error_detail.code)) {
    request.errorMessage = raw.error_detail.message || `error code ${raw.error_detail.code}`;
  }
  return request;
}

export function readSotwRequest(raw: RawRequest): XdsRequest {
  return { ...readCommon(raw), resourceNames: raw.resource_names ?? [] };
}

export function readDeltaRequest(raw: RawRequest): XdsRequest {
  return {
    ...readCommon(raw),
    subscribe: raw.resource_names_subscribe ?? [],
    unsubscribe: raw.resource_names_unsubscribe ?? [],
    initialVersions: raw.initial_resource_versions ?? {},
  };
}

const LENGTH_DELIMITED = 2;
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
 * Resource {version = 1, resource = 2, name = 3, ttl = 6} carrying a TTL, and for heartbeats no body. Built per
 * response: only streams of clients that announced TTL support get these.
 */
function resourceWithTtl(resource: EncodedResource, ttlMs: number, heartbeat: boolean): Uint8Array {
  const writer = protobuf.Writer.create().uint32(tag(1)).string(resource.version);
  if (!heartbeat) writer.uint32(tag(2)).bytes(anyBytes(resource));
  writer.uint32(tag(3)).string(resource.name);
  const seconds = Math.floor(ttlMs / 1000);
  const nanos = (ttlMs % 1000) * 1_000_000;
  const duration = protobuf.Writer.create();
  if (seconds) duration.uint32((1 << 3) | VARINT).int64(seconds);
  if (nanos) duration.uint32((2 << 3) | VARINT).int32(nanos);
  return writer.uint32(tag(6)).bytes(duration.finish()).finish();
}

/** SotW clients with `xds.config.resource-in-sotw` get each resource inside a Resource wrapper (for its TTL). */
function sotwEntry(resource: EncodedResource, response: XdsResponse): Uint8Array {
  if (response.ttlMs === undefined) return anyBytes(resource);
  const wrapper = resourceWithTtl(resource, response.ttlMs, response.heartbeat ?? false);
  return protobuf.Writer.create().uint32(tag(1)).string(RESOURCE_WRAPPER_TYPE_URL).uint32(tag(2)).bytes(wrapper).finish();
}

/** The writer's bytes as a Buffer without copying them (gRPC writes Buffers). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** DiscoveryResponse {version_info = 1, resources = 2, type_url = 4, nonce = 5}. */
export function encodeSotwResponse(response: XdsResponse): Buffer {
  const writer = protobuf.Writer.create().uint32(tag(1)).string(response.version);
  for (const resource of response.resources) writer.uint32(tag(2)).bytes(sotwEntry(resource, response));
  writer.uint32(tag(4)).string(response.typeUrl).uint32(tag(5)).string(response.nonce);
  return asBuffer(writer.finish());
}

/** DeltaDiscoveryResponse {system_version_info = 1, resources = 2, type_url = 4, nonce = 5, removed_resources = 6}. */
export function encodeDeltaResponse(response: XdsResponse): Buffer {
  const writer = protobuf.Writer.create().uint32(tag(1)).string(response.version);
  for (const resource of response.resources) {
    const entry = response.ttlMs === undefined ? deltaResourceBytes(resource) : resourceWithTtl(resource, response.ttlMs, response.heartbeat ?? false);
    writer.uint32(tag(2)).bytes(entry);
  }
  writer.uint32(tag(4)).string(response.typeUrl).uint32(tag(5)).string(response.nonce);
  for (const name of response.removed) writer.uint32(tag(6)).string(name);
  return asBuffer(writer.finish());
}
