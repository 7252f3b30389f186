// One xDS stream on its gRPC call: reading requests into the stream engine, writing what it decides, flow control
// for clients that do not read, the first-request deadline, and the stream's log lines and events. Thousands of
// these sit idle in a fleet, so the per-stream state is plain fields and prototype methods: no closures or child
// logger per stream beyond the call's own listeners.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger.js';
import { DEFAULT_VIEW, type SnapshotSource, type TypeUrl } from '../snapshot/types.js';
import { StreamEngine, type StreamObserver } from './stream.js';
import type { NackRecord, XdsApi, XdsProtocol, XdsServerEvents } from './types.js';
import {
  LOGGED_NODE_ID_CHARS,
  RefusedRequest,
  encodeDeltaResponse,
  encodeSotwResponse,
  readDeltaRequest,
  readSotwRequest,
  truncate,
  type RawRequest,
  type XdsRequest,
  type XdsResponse,
} from './wire.js';

export type Duplex = grpc.ServerDuplexStream<RawRequest, Buffer>;

/** Flow-control counters of one stream (tests and diagnostics read them). */
export interface StreamFlow {
  id: string;
  requestsRead: number;
  responsesWritten: number;
  /** Responses written to gRPC whose bytes the transport has not yet taken. */
  repliesInFlight: number;
  /** Reading is paused because the client does not consume what it was sent. */
  readingPaused: boolean;
}

/** What every stream of one server shares: one object per server, not per stream. */
export interface StreamHost {
  readonly source: SnapshotSource;
  readonly logger: Logger;
  readonly maxRepliesInFlight: number;
  readonly resourceTtlMs: number;
  emit<E extends keyof XdsServerEvents>(event: E, ...args: XdsServerEvents[E]): void;
  /** Whether anyone listens to the event (a StreamInfo is built for it only then). */
  listened(event: keyof XdsServerEvents): boolean;
  /** The stream ended: it is no longer served. */
  forget(stream: ServedStream): void;
}

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** NACK messages in logs are cut to this many characters (the admin API keeps REQUEST_LIMITS.errorMessageChars). */
const LOGGED_NACK_CHARS = 1024;

/** Response → its bytes, for responses shared by streams (a push's shared responses key the protocol in). */
const encodedResponses = new WeakMap<XdsResponse, Buffer>();

/** How long a new stream may wait before its first request. */
export const FIRST_REQUEST_TIMEOUT_MS = 30_000;

export class ServedStream implements StreamObserver {
  readonly engine: StreamEngine;
  /** Writing waits for the client to read (write buffer full, or too many replies in flight); reading is paused. */
  blocked = false;
  /** A snapshot or a request arrived while blocked: the latest state is owed when the client reads again. */
  owesCatchUp = false;
  private closed = false;
  private nodeLogged = false;
  private requestsRead = 0;
  private responsesWritten = 0;
  private repliesInFlight = 0;
  /** Cleared (and dropped) by the first request. */
  private firstRequestTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: StreamHost,
    private readonly call: Duplex,
    id: string,
    protocol: XdsProtocol,
    api: XdsApi,
  ) {
    this.engine = new StreamEngine({ id, protocol, api, peer: call.getPeer(), observer: this, resourceTtlMs: host.resourceTtlMs });
    // The listeners share this constructor's scope (one context holding `this`).
    call.on('drain', () => this.unblockIfDrained());
    call.on('data', (raw: RawRequest) => this.onRequest(raw));
    call.on('end', () => {
      this.close('client ended');
      call.end();
    });
    call.on('error', (err) => this.close(`error: ${err.message}`));
    call.on('cancelled', () => this.close('cancelled'));
    call.on('close', () => this.close('closed'));
  }

  /** Starts serving: called once the server tracks the stream. */
  open(): void {
    if (this.host.listened('streamOpened')) this.host.emit('streamOpened', this.engine.info());
    this.log('debug', undefined, 'stream opened');
    // grpc-js may take a cancellation before it hands the call over: its 'cancelled' event has then already fired.
    if (this.call.cancelled) {
      this.close('cancelled before the stream was served');
      return;
    }
    // A stream that never says what it wants holds memory and gets pushes for nothing: end it.
    this.firstRequestTimer = setTimeout(() => {
      this.firstRequestTimer = undefined;
      if (this.closed || this.requestsRead > 0) return;
      this.close('no request within the first-request timeout');
      this.call.emit('error', { code: grpc.status.DEADLINE_EXCEEDED, details: `no request within ${FIRST_REQUEST_TIMEOUT_MS} ms` });
    }, FIRST_REQUEST_TIMEOUT_MS);
    this.firstRequestTimer.unref();
  }

  flow(): StreamFlow {
    return { id: this.engine.id, requestsRead: this.requestsRead, responsesWritten: this.responsesWritten, repliesInFlight: this.repliesInFlight, readingPaused: this.blocked };
  }

  /** Writes a batch (at most one response per type) whole: the engine has recorded it as sent. */
  write(responses: readonly XdsResponse[]): void {
    for (const response of responses) {
      this.repliesInFlight += 1;
      this.responsesWritten += 1;
      const accepted = this.call.write(this.encoded(response), () => {
        this.repliesInFlight -= 1;
        this.unblockIfDrained();
      });
      if (!accepted || this.repliesInFlight >= this.host.maxRepliesInFlight) this.block();
    }
  }

  /** A response's bytes: encoded once however many streams of a push share the response (shared-responses.ts). */
  private encoded(response: XdsResponse): Buffer {
    let bytes = encodedResponses.get(response);
    if (!bytes) {
      bytes = this.engine.protocol === 'sotw' ? encodeSotwResponse(response) : encodeDeltaResponse(response);
      encodedResponses.set(response, bytes);
    }
    return bytes;
  }

  /** Ends the stream with OK, so the client reconnects (to another replica) at once. */
  end(): void {
    this.call.end();
  }

  /** The stream's log line: the server's logger with the stream's fields, built only when the level is enabled. */
  log(level: LogLevel, fields: Record<string, unknown> | undefined, message: string): void {
    const logger = this.host.logger;
    if (!logger.isLevelEnabled(level)) return;
    const engine = this.engine;
    logger[level]({ stream: engine.id, protocol: engine.protocol, api: engine.api, peer: engine.peer, ...fields }, message);
  }

  // StreamObserver: the engine reports what it sent and how the client answered.

  sent(response: XdsResponse, changeSeenAt: number | undefined): void {
    this.log('debug', { type: response.typeUrl, version: response.version, nonce: response.nonce, resources: response.resources.length, removed: response.removed.length }, 'response sent');
    this.host.emit('responseSent', this.engine, response.typeUrl, response.resources.length, changeSeenAt);
  }

  acked(typeUrl: TypeUrl): void {
    this.host.emit('ack', this.engine, typeUrl);
  }

  nacked(typeUrl: TypeUrl, nack: NackRecord): void {
    const node = truncate(this.engine.nodeInfo()?.id ?? '', LOGGED_NODE_ID_CHARS);
    this.log('warn', { node, type: typeUrl, version: nack.version, nonce: nack.nonce, error: truncate(nack.message, LOGGED_NACK_CHARS) }, 'NACK: the client rejected a response');
    this.host.emit('nack', this.engine, typeUrl, nack);
  }

  ignored(reason: string, request: XdsRequest): void {
    this.log('debug', { reason, type: request.typeUrl, nonce: request.nonce }, 'request ignored');
  }

  private onRequest(raw: RawRequest): void {
    if (this.closed) return;
    this.requestsRead += 1;
    if (this.firstRequestTimer) {
      clearTimeout(this.firstRequestTimer);
      this.firstRequestTimer = undefined;
    }
    const source = this.host.source;
    const engine = this.engine;
    try {
      const request = engine.protocol === 'sotw' ? readSotwRequest(raw) : readDeltaRequest(raw);
      if (request.node && !this.nodeLogged) {
        this.nodeLogged = true;
        const node = request.node;
        engine.view = source.enterView?.(node) ?? DEFAULT_VIEW;
        this.log(
          'info',
          {
            node: truncate(node.id, LOGGED_NODE_ID_CHARS),
            cluster: truncate(node.cluster, LOGGED_NODE_ID_CHARS),
            userAgent: truncate(`${node.userAgentName} ${node.userAgentVersion}`.trim(), LOGGED_NODE_ID_CHARS),
          },
          'proxy connected',
        );
      }
      // While the client does not read, a request only updates the subscription; the answer waits for the drain.
      if (this.blocked) {
        engine.handleRequest(request, source.current(engine.view), true);
        this.owesCatchUp = true;
        return;
      }
      this.write(engine.handleRequest(request, source.current(engine.view)));
    } catch (err) {
      if (err instanceof RefusedRequest) {
        this.log('warn', { reason: err.message }, 'request refused: ending the stream');
        this.close(`refused: ${err.message}`);
        this.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: err.message });
        return;
      }
      this.log('error', { err }, 'request failed');
    }
  }

  private block(): void {
    if (this.blocked) return;
    this.blocked = true;
    // Stop reading too: requests of a client that does not read its responses would otherwise pile up here.
    this.call.pause();
  }

  /** A slow client gets the latest state once it reads again, not every intermediate push queued in memory. */
  private unblockIfDrained(): void {
    if (!this.blocked || this.repliesInFlight > 0 || this.call.writableNeedDrain || this.closed) return;
    this.blocked = false;
    this.call.resume();
    if (!this.owesCatchUp) return;
    this.owesCatchUp = false;
    this.log('debug', undefined, 'client caught up: sending the latest state');
    this.write(this.engine.catchUp(this.host.source.current(this.engine.view)));
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.firstRequestTimer) {
      clearTimeout(this.firstRequestTimer);
      this.firstRequestTimer = undefined;
    }
    const engine = this.engine;
    this.host.forget(this);
    this.host.source.leaveView?.(engine.view);
    if (this.host.listened('streamClosed')) this.host.emit('streamClosed', engine.info());
    this.log('info', { node: truncate(engine.nodeInfo()?.id ?? '', LOGGED_NODE_ID_CHARS), reason }, 'stream closed');
  }
}
