// gRPC side of the xDS server: ADS and the per-type discovery services, SotW and delta, all driving the one
// StreamEngine, plus CSDS reading the same engines. This module owns the streams' lifetimes, their flow control and
// the fan-out of new snapshots; it knows nothing of etcd.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { discoveryPackageDefinition } from '../protos/grpc-services.js';
import type { Logger } from '../logger.js';
import { contentSetVersion } from '../snapshot/encode.js';
import { DEFAULT_VIEW, TYPE_URL, isTypeUrl, type Snapshot, type SnapshotDiff, type SnapshotSource, type TypeUrl, type ViewUpdate } from '../snapshot/types.js';
import { csdsService } from './csds.js';
import { SharedResponses } from './shared-responses.js';
import { ServedStream, type Duplex, type StreamFlow, type StreamHost } from './served-stream.js';
import { Subscription } from './subscription.js';
import type { StreamInfo, XdsApi, XdsProtocol, XdsServerEvents } from './types.js';
import {
  LOGGED_NODE_ID_CHARS,
  REQUEST_LIMITS,
  RefusedRequest,
  boundedDecoder,
  encodeSotwResponse,
  readSotwRequest,
  truncate,
  type RawRequest,
  type XdsRequest,
} from './wire.js';

export type { StreamFlow } from './served-stream.js';

interface ServiceSpec {
  service: string;
  api: XdsApi;
  typeUrl?: TypeUrl;
  sotw: string;
  delta: string;
  fetch?: string;
}

const SERVICES: readonly ServiceSpec[] = [
  { service: 'envoy.service.discovery.v3.AggregatedDiscoveryService', api: 'ads', sotw: 'StreamAggregatedResources', delta: 'DeltaAggregatedResources' },
  { service: 'envoy.service.endpoint.v3.EndpointDiscoveryService', api: 'eds', typeUrl: TYPE_URL.endpoint, sotw: 'StreamEndpoints', delta: 'DeltaEndpoints', fetch: 'FetchEndpoints' },
  { service: 'envoy.service.cluster.v3.ClusterDiscoveryService', api: 'cds', typeUrl: TYPE_URL.cluster, sotw: 'StreamClusters', delta: 'DeltaClusters', fetch: 'FetchClusters' },
  { service: 'envoy.service.listener.v3.ListenerDiscoveryService', api: 'lds', typeUrl: TYPE_URL.listener, sotw: 'StreamListeners', delta: 'DeltaListeners', fetch: 'FetchListeners' },
  { service: 'envoy.service.route.v3.RouteDiscoveryService', api: 'rds', typeUrl: TYPE_URL.route, sotw: 'StreamRoutes', delta: 'DeltaRoutes', fetch: 'FetchRoutes' },
];

/**
 * Responses are pre-encoded bytes: the service definitions pass them through instead of re-serializing objects.
 * Requests are scanned before they are decoded, so one beyond the limits costs no decoding (wire.ts).
 */
function passThroughDefinition(serviceName: string, maxResourceNames: number): grpc.ServiceDefinition {
  const definition = discoveryPackageDefinition()[serviceName] as grpc.ServiceDefinition;
  return Object.fromEntries(
    Object.entries(definition).map(([method, spec]) => [
      method,
      {
        ...spec,
        requestDeserialize: boundedDecoder(spec.requestDeserialize, method.startsWith('Delta') ? 'delta' : 'sotw', maxResourceNames),
        responseSerialize: (bytes: Buffer) => bytes,
      },
    ]),
  ) as grpc.ServiceDefinition;
}

export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_REPLIES_IN_FLIGHT = 16;

export interface XdsServerOptions {
  source: SnapshotSource;
  logger: Logger;
  /** grpc.Server options (keepalive, ...); they override the defaults below. */
  grpcOptions?: grpc.ServerOptions;
  /**
   * Resource TTL for clients announcing xds.config.supports-resource-ttl (0 = off): resources carry it and are
   * renewed by heartbeats at half the TTL, so a client drops them if this control plane goes silent.
   */
  resourceTtlMs?: number;
  /** Resource names one request may carry (REQUEST_LIMITS.maxResourceNames, 100,000); more is INVALID_ARGUMENT. */
  maxResourceNames?: number;
  /** Largest request message accepted (grpc.max_receive_message_length), 4 MiB by default. */
  maxReceiveMessageBytes?: number;
  /**
   * Responses one stream may have written and not yet flushed to its client (16 by default). Beyond it, or when
   * gRPC's write buffer is full, the stream stops reading and only the latest state is sent once the client reads.
   */
  maxRepliesInFlight?: number;
}

export class XdsServer extends EventEmitter<XdsServerEvents> {
  private readonly server: grpc.Server;
  private readonly streams = new Map<string, ServedStream>();
  private streamCounter = 0;
  private readonly unsubscribe: () => void;
  private readonly logger: Logger;
  private readonly heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly streamHost: StreamHost;

  constructor(private readonly options: XdsServerOptions) {
    super();
    this.logger = options.logger.child({ component: 'xds' });
    this.streamHost = {
      source: options.source,
      logger: this.logger,
      maxRepliesInFlight: Math.max(1, options.maxRepliesInFlight ?? DEFAULT_MAX_REPLIES_IN_FLIGHT),
      resourceTtlMs: options.resourceTtlMs ?? 0,
      emit: this.emit.bind(this),
      listened: (event) => this.listenerCount(event) > 0,
      forget: (stream) => void this.streams.delete(stream.engine.id),
    };
    this.server = new grpc.Server({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
      ...options.grpcOptions,
    });
    const maxNames = options.maxResourceNames ?? REQUEST_LIMITS.maxResourceNames;
    for (const spec of SERVICES) {
      const handlers: grpc.UntypedServiceImplementation = {
        [spec.sotw]: (call: Duplex) => this.serveStream(call, 'sotw', spec.api),
        [spec.delta]: (call: Duplex) => this.serveStream(call, 'delta', spec.api),
      };
      if (spec.fetch) {
        const typeUrl = spec.typeUrl!;
        handlers[spec.fetch] = (call: grpc.ServerUnaryCall<RawRequest, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
          this.serveFetch(call.request, typeUrl, callback);
      }
      this.server.addService(passThroughDefinition(spec.service, maxNames), handlers);
    }
    const csds = csdsService(() => [...this.streams.values()].map((s) => s.engine), (view) => this.options.source.current(view));
    this.server.addService(csds.definition, csds.handlers);
    this.unsubscribe = options.source.onSnapshot((snapshot, diff, views, regroup) => this.push(snapshot, diff, views, regroup === true));
    if (options.resourceTtlMs) {
      this.heartbeatTimer = setInterval(() => this.sendHeartbeats(), Math.max(1, options.resourceTtlMs / 2));
      this.heartbeatTimer.unref();
    }
  }

  private sendHeartbeats(): void {
    for (const stream of this.streams.values()) {
      if (stream.blocked) continue;
      try {
        stream.write(stream.engine.heartbeat(this.options.source.current(stream.engine.view)));
      } catch (err) {
        this.logger.error({ err, stream: stream.engine.id }, 'heartbeat failed');
      }
    }
  }

  /** Binds `host:port` (port 0 = any free port) and returns the address actually bound. */
  async listen(address: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<string> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, credentials, (err, boundPort) => (err ? reject(err) : resolve(boundPort))),
    );
    const host = address.slice(0, address.lastIndexOf(':'));
    return `${host}:${port}`;
  }

  streamInfos(): StreamInfo[] {
    return [...this.streams.values()].map((s) => s.engine.info());
  }

  /** Flow-control counters of every open stream. */
  streamFlows(): StreamFlow[] {
    return [...this.streams.values()].map((s) => s.flow());
  }

  /** Ends every stream (clients reconnect elsewhere) and stops the server, forcing it after graceMs. */
  async close(graceMs = 5_000): Promise<void> {
    this.unsubscribe();
    clearInterval(this.heartbeatTimer);
    const shutdown = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    for (const stream of this.streams.values()) stream.end();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([shutdown, timeout]);
    this.server.forceShutdown();
    this.streams.clear();
  }

  private push(snapshot: Snapshot, diff: SnapshotDiff, views: ReadonlyMap<string, ViewUpdate> | undefined, regroup: boolean): void {
    // Streams owed the same response get one object and one encoding of it.
    const shared = new SharedResponses();
    for (const stream of this.streams.values()) {
      try {
        // After a Gateway change a node may match another gateway: it moves to that view and gets all it is owed.
        if (regroup && this.moveToOwedView(stream)) continue;
        const view = stream.engine.view;
        const update = view === DEFAULT_VIEW ? { snapshot, diff } : views?.get(view);
        if (!update) continue; // nothing changed in this stream's view
        if (stream.blocked) {
          stream.owesCatchUp = true;
          continue;
        }
        stream.write(stream.engine.handleSnapshot(update.snapshot, update.diff, shared));
      } catch (err) {
        this.logger.error({ err, stream: stream.engine.id }, 'push failed');
      }
    }
  }

  /** Asks the source again which view the stream's node is owed; true when it moved (and was sent the new view). */
  private moveToOwedView(stream: ServedStream): boolean {
    const node = stream.engine.nodeInfo();
    const source = this.options.source;
    if (!node || !source.enterView) return false;
    const before = stream.engine.view;
    const after = source.enterView(node);
    source.leaveView?.(before);
    if (after === before) return false;
    stream.engine.view = after;
    this.logger.info({ stream: stream.engine.id, node: truncate(node.id, LOGGED_NODE_ID_CHARS), from: before, to: after }, 'node moved to another view after a gateway change');
    if (stream.blocked) stream.owesCatchUp = true;
    else stream.write(stream.engine.catchUp(source.current(after)));
    return true;
  }

  private serveStream(call: Duplex, protocol: XdsProtocol, api: XdsApi): void {
    const stream = new ServedStream(this.streamHost, call, String(++this.streamCounter), protocol, api);
    this.streams.set(stream.engine.id, stream);
    stream.open();
  }

  /** Unary Fetch*: the current resources a SotW subscription with these names would get (all of them for CDS/LDS when none are named). */
  private serveFetch(raw: RawRequest, typeUrl: TypeUrl, callback: grpc.sendUnaryData<Buffer>): void {
    let request: XdsRequest;
    try {
      request = readSotwRequest(raw);
    } catch (err) {
      if (!(err instanceof RefusedRequest)) throw err;
      callback({ code: grpc.status.INVALID_ARGUMENT, details: err.message });
      return;
    }
    if (request.typeUrl && (!isTypeUrl(request.typeUrl) || request.typeUrl !== typeUrl)) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: `this service serves ${typeUrl}` });
      return;
    }
    const subscription = new Subscription(typeUrl, 'sotw');
    subscription.setSotwNames(request.resourceNames ?? []);
    // A fetch gets what a stream of its node would: its view is held for the length of the answer.
    const source = this.options.source;
    const view = request.node && source.enterView ? source.enterView(request.node) : DEFAULT_VIEW;
    const wanted = subscription.current(source.current(view).resources.get(typeUrl) ?? new Map());
    source.leaveView?.(view);
    const version = contentSetVersion(wanted);
    callback(null, encodeSotwResponse({ typeUrl, nonce: '', version, resources: wanted, removed: [] }));
  }
}
