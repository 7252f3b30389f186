// A lean SotW ADS client for many streams: requests encoded once per shape, responses parsed only as far as the
// version and nonce (resources stay bytes until a scenario asks), every response ACKed at once. Streams are spread
// over separate HTTP/2 connections like a real fleet's (each channel with its own subchannel pool, so grpc-js
// does not share one connection between them). The same client talks to etcd-xds and to the bare server.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { owned, waitFor } from './lifecycle.js';

export const EDS_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const BENCH_NODE = { id: 'bench-node', cluster: 'bench', locality: {}, user_agent_name: 'etcd-xds-bench' };

export interface AdsResponse {
  version: string;
  nonce: string;
  typeUrl: string;
  /** Each resource's Any, undecoded. */
  resources: Buffer[];
  bytes: number;
}

export function parseResponse(bytes: Buffer): AdsResponse {
  const reader = protobuf.Reader.create(bytes);
  const response: AdsResponse = { version: '', nonce: '', typeUrl: '', resources: [], bytes: bytes.length };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag >>> 3) {
      case 1: response.version = reader.string(); break;
      case 2: response.resources.push(reader.bytes() as Buffer); break;
      case 4: response.typeUrl = reader.string(); break;
      case 5: response.nonce = reader.string(); break;
      default: reader.skipType(tag & 7);
    }
  }
  return response;
}

let requestType: protobuf.Type | undefined;
function encodeRequest(request: Record<string, unknown>): Buffer {
  requestType ??= envoyType('envoy.service.discovery.v3.DiscoveryRequest');
  return Buffer.from(requestType.encode(requestType.fromObject(request)).finish());
}

interface Endpoint {
  address: string;
  port: number;
  /** filter_metadata["envoy.lb"] string fields. */
  metadata: Record<string, string>;
}

/** The first length-delimited field `field` of a message, undecoded. */
function bytesField(message: Uint8Array, field: number): Uint8Array | undefined {
  const reader = protobuf.Reader.create(message);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === field && (tag & 7) === 2) return reader.bytes();
    reader.skipType(tag & 7);
  }
  return undefined;
}

/** cluster_name of the ClusterLoadAssignment in an Any, read without decoding the rest. */
export function assignmentName(any: Buffer): string {
  const value = bytesField(any, 2);
  const name = value && bytesField(value, 1);
  return name ? Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString() : '';
}

/** The endpoints of a ClusterLoadAssignment carried in an Any. */
export function decodeAssignment(any: Buffer): { name: string; endpoints: Endpoint[] } {
  const anyType = envoyType('google.protobuf.Any');
  const claType = envoyType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  const wrapped = anyType.decode(any) as unknown as { value: Uint8Array };
  const cla = claType.toObject(claType.decode(wrapped.value), { defaults: false, longs: String, enums: String }) as {
    cluster_name?: string;
    endpoints?: Array<{ lb_endpoints?: Array<{ endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } }; metadata?: { filter_metadata?: Record<string, { fields?: Record<string, { stringValue?: string; string_value?: string }> }> } }> }>;
  };
  const endpoints: Endpoint[] = [];
  for (const locality of cla.endpoints ?? []) {
    for (const lb of locality.lb_endpoints ?? []) {
      const socket = lb.endpoint?.address?.socket_address;
      const fields = lb.metadata?.filter_metadata?.['envoy.lb']?.fields ?? {};
      const metadata: Record<string, string> = {};
      for (const [key, value] of Object.entries(fields)) {
        // protobufjs's bundled google.protobuf.Struct keeps its camelCase field names even in a keepCase root.
        const text = value.stringValue ?? value.string_value;
        if (text !== undefined) metadata[key] = text;
      }
      endpoints.push({ address: socket?.address ?? '', port: socket?.port_value ?? 0, metadata });
    }
  }
  return { name: cla.cluster_name ?? '', endpoints };
}

export class AdsStream {
  responses = 0;
  /** Set to keep the last response and its bytes (off by default: 1,000 streams of large responses add up). */
  keepLast = false;
  lastResponse: AdsResponse | undefined;
  lastBytes: Buffer | undefined;
  error: Error | undefined;
  /** Called on each response, after the ACK was written, with performance.now() at arrival. */
  onResponse: ((response: AdsResponse, at: number) => void) | undefined;

  constructor(
    private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>,
    readonly names: readonly string[],
  ) {
    call.on('data', (bytes: Buffer) => {
      const at = performance.now();
      const response = parseResponse(bytes);
      this.responses += 1;
      if (this.keepLast) {
        this.lastResponse = response;
        this.lastBytes = bytes;
      }
      call.write(encodeRequest({ type_url: response.typeUrl, version_info: response.version, response_nonce: response.nonce, resource_names: names }));
      this.onResponse?.(response, at);
    });
    call.on('error', (err: Error) => {
      if ((err as grpc.ServiceError).code !== grpc.status.CANCELLED) this.error = err;
    });
    call.write(encodeRequest({ node: BENCH_NODE, type_url: EDS_TYPE, resource_names: names }));
  }

  close(): void {
    this.call.cancel();
  }
}

/** Many ADS streams to one server over `connections` separate HTTP/2 connections. */
export class AdsFleet {
  readonly streams: AdsStream[] = [];
  private readonly clients: grpc.Client[];
  private readonly release: () => Promise<void>;

  constructor(address: string, connections: number) {
    this.clients = Array.from(
      { length: connections },
      (_, i) =>
        new grpc.Client(address, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
          'grpc.max_receive_message_length': 256 * 1024 * 1024,
          // Distinct options keep channels apart even where a pool would be shared.
          'grpc.primary_user_agent': `etcd-xds-bench/${i}`,
        }),
    );
    this.release = owned(`ADS clients of ${address}`, () => this.closeNow());
  }

  /** Opens a stream on the next connection, subscribing EDS to `names`. */
  open(names: readonly string[]): AdsStream {
    const client = this.clients[this.streams.length % this.clients.length]!;
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(ADS_METHOD, (b) => b, (b) => b);
    const stream = new AdsStream(call, names);
    this.streams.push(stream);
    return stream;
  }

  /** Waits until every stream has had at least `atLeast` responses. */
  async allAnswered(atLeast: number, timeoutMs: number, what: string): Promise<void> {
    await waitFor(what, timeoutMs, () => {
      const failed = this.streams.find((s) => s.error);
      if (failed) throw failed.error;
      return this.streams.every((s) => s.responses >= atLeast) ? true : undefined;
    }, 5);
  }

  private closeNow(): void {
    for (const stream of this.streams) stream.close();
    for (const client of this.clients) client.close();
  }

  close(): Promise<void> {
    return this.release();
  }
}
