// gRPC side of the xDS server: ADS and the per-type discovery services, SotW and delta, all driving the one
// StreamEngine. This module owns the streams' lifetimes and fan-out of new snapshots; it knows nothing of etcd.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { discoveryPackageDefinition } from '../protos/grpc-services.js';
import type { Logger } from '../logger.js';
import { contentSetVersion } from '../snapshot/encode.js';
import { TYPE_URL, isTypeUrl, type Snapshot, type SnapshotDiff, type SnapshotSource, type TypeUrl } from '../snapshot/types.js';
import { StreamEngine, type StreamObserver } from './stream.js';
import { isFullStateType } from './subscription.js';
import type { StreamInfo, XdsApi, XdsProtocol, XdsServerEvents } from './types.js';
import { encodeDeltaResponse, encodeSotwResponse, readDeltaRequest, readSotwRequest, type XdsRequest, type XdsResponse } from './wire.js';

type RawRequest = Parameters<typeof readSotwRequest>[0];
type Duplex = grpc.ServerDuplexStream<RawRequest, Buffer>;

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

/** Responses are pre-encoded bytes: the service definitions pass them through instead of re-serializing objects. */
function passThroughDefinition(serviceName: string): grpc.ServiceDefinition {
  const definition = discoveryPackageDefinition()[serviceName] as grpc.ServiceDefinition;
  return Object.fromEntries(
    Object.entries(definition).map(([method, spec]) => [method, { ...spec, responseSerialize: (bytes: Buffer) => bytes }]),
  ) as grpc.ServiceDefinition;
}

interface LiveStream {
  engine: StreamEngine;
  /** The client is not reading fast enough (gRPC write buffer full): pushes wait, and only the latest is sent. */
  blocked: boolean;
  /** A snapshot arrived while blocked. */
  missedPush: boolean;
  write(responses: XdsResponse[]): void;
  /** Ends the stream with OK, so the client reconnects (to another replica) at once. */
  end(): void;
}

export interface XdsServerOptions {
  source: SnapshotSource;
  logger: Logger;
  /** grpc.Server options (keepalive, message sizes). */
  grpcOptions?: grpc.ServerOptions;
  /**
   * Resource TTL for clients announcing xds.config.supports-resource-ttl (0 = off): resources carry it and are
   * renewed by heartbeats at half the TTL, so a client drops them if this control plane goes silent.
   */
  resourceTtlMs?: number;
}

export class XdsServer extends EventEmitter<XdsServerEvents> {
  private readonly server: grpc.Server;
  private readonly streams = new Map<string, LiveStream>();
  private streamCounter = 0;
  private readonly unsubscribe: () => void;
  private readonly logger: Logger;
  private readonly heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: XdsServerOptions) {
    super();
    this.logger = options.logger.child({ component: 'xds' });
    this.server = new grpc.Server({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      ...options.grpcOptions,
    });
    for (const spec of SERVICES) {
      const handlers: grpc.UntypedServiceImplementation = {
        [spec.sotw]: (call: Duplex) => this.serveStream(call, 'sotw', spec.api, spec.typeUrl),
        [spec.delta]: (call: Duplex) => this.serveStream(call, 'delta', spec.api, spec.typeUrl),
      };
      if (spec.fetch) {
        const typeUrl = spec.typeUrl!;
        handlers[spec.fetch] = (call: grpc.ServerUnaryCall<RawRequest, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
          this.serveFetch(call.request, typeUrl, callback);
      }
      this.server.addService(passThroughDefinition(spec.service), handlers);
    }
    this.unsubscribe = options.source.onSnapshot((snapshot, diff) => this.push(snapshot, diff));
    if (options.resourceTtlMs) {
      this.heartbeatTimer = setInterval(() => this.sendHeartbeats(), Math.max(1, options.resourceTtlMs / 2));
      this.heartbeatTimer.unref();
    }
  }

  private sendHeartbeats(): void {
    const snapshot = this.options.source.current();
    for (const stream of this.streams.values()) {
      if (stream.blocked) continue;
      try {
        stream.write(stream.engine.heartbeat(snapshot));
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

  private push(snapshot: Snapshot, diff: SnapshotDiff): void {
    for (const stream of this.streams.values()) {
      if (stream.blocked) {
        stream.missedPush = true;
        continue;
      }
      try {
        stream.write(stream.engine.handleSnapshot(snapshot, diff));
      } catch (err) {
        this.logger.error({ err, stream: stream.engine.id }, 'push failed');
      }
    }
  }

  private serveStream(call: Duplex, protocol: XdsProtocol, api: XdsApi, fixedType: TypeUrl | undefined): void {
    const id = String(++this.streamCounter);
    const log = this.logger.child({ stream: id, protocol, api, peer: call.getPeer() });
    const engine: StreamEngine = new StreamEngine(id, protocol, api, call.getPeer(), fixedType, this.observer(() => engine, log), this.options.resourceTtlMs);
    const encode = protocol === 'sotw' ? encodeSotwResponse : encodeDeltaResponse;
    const read = protocol === 'sotw' ? readSotwRequest : readDeltaRequest;
    const stream: LiveStream = {
      engine,
      blocked: false,
      missedPush: false,
      write: (responses) => {
        for (const response of responses) if (!call.write(encode(response))) stream.blocked = true;
      },
      end: () => call.end(),
    };
    // A slow client gets the latest state once it reads again, not every intermediate push queued in memory.
    call.on('drain', () => {
      stream.blocked = false;
      if (!stream.missedPush) return;
      stream.missedPush = false;
      log.debug('client caught up: sending the latest state');
      stream.write(engine.catchUp(this.options.source.current()));
    });
    this.streams.set(id, stream);
    this.emit('streamOpened', engine.info());
    log.info('stream opened');

    let nodeLogged = false;
    call.on('data', (raw: RawRequest) => {
      try {
        const request = read(raw);
        if (request.node && !nodeLogged) {
          nodeLogged = true;
          log.info({ node: request.node.id, cluster: request.node.cluster }, 'node connected');
        }
        stream.write(engine.handleRequest(request, this.options.source.current()));
      } catch (err) {
        log.error({ err }, 'request failed');
      }
    });
    let closed = false;
    const close = (reason: string) => {
      if (closed) return;
      closed = true;
      this.streams.delete(id);
      this.emit('streamClosed', engine.info());
      log.info({ reason }, 'stream closed');
    };
    call.on('end', () => {
      close('client ended');
      call.end();
    });
    call.on('error', (err) => close(`error: ${err.message}`));
    call.on('cancelled', () => close('cancelled'));
    call.on('close', () => close('closed'));
  }

  private observer(engine: () => StreamEngine, log: Logger): StreamObserver {
    return {
      sent: (response, changeSeenAt) => {
        log.debug({ type: response.typeUrl, version: response.version, nonce: response.nonce, resources: response.resources.length, removed: response.removed.length }, 'response sent');
        this.emit('responseSent', engine(), response.typeUrl, response.resources.length, changeSeenAt);
      },
      acked: (typeUrl) => this.emit('ack', engine(), typeUrl),
      nacked: (typeUrl, nack) => {
        log.warn({ type: typeUrl, version: nack.version, nonce: nack.nonce, error: nack.message }, 'NACK');
        this.emit('nack', engine(), typeUrl, nack);
      },
      ignored: (reason: string, request: XdsRequest) => log.debug({ reason, type: request.typeUrl, nonce: request.nonce }, 'request ignored'),
    };
  }

  /** Unary Fetch*: the current named resources (all of them for CDS/LDS when none are named). */
  private serveFetch(raw: RawRequest, typeUrl: TypeUrl, callback: grpc.sendUnaryData<Buffer>): void {
    const request = readSotwRequest(raw);
    if (request.typeUrl && (!isTypeUrl(request.typeUrl) || request.typeUrl !== typeUrl)) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: `this service serves ${typeUrl}` });
      return;
    }
    const resources = this.options.source.current().resources.get(typeUrl) ?? new Map();
    const names = request.resourceNames ?? [];
    const wanted = names.length === 0 && isFullStateType(typeUrl) ? [...resources.values()] : names.flatMap((n) => resources.get(n) ?? []);
    const version = contentSetVersion(wanted);
    callback(null, encodeSotwResponse({ typeUrl, nonce: '', version, resources: wanted, removed: [] }));
  }
}
