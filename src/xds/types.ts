// Per-stream state as the admin API and metrics see it. The stream engine owns the live state; these are
// read-only views of it.
import type { TypeUrl } from '../snapshot/types.js';

export type XdsProtocol = 'sotw' | 'delta';
/** ADS, or one of the per-type discovery services. */
export type XdsApi = 'ads' | 'eds' | 'cds' | 'lds' | 'rds';

export interface NodeInfo {
  id: string;
  cluster: string;
  locality: { region?: string; zone?: string; subZone?: string };
  userAgentName: string;
  userAgentVersion: string;
  clientFeatures: string[];
  /** Node metadata as plain, bounded values (top-level strings, numbers, booleans, string lists). */
  metadata?: Readonly<Record<string, string | number | boolean | string[]>>;
}

/**
 * SYNCED: the latest response was ACKed. STALE: it is in flight (not yet answered). NACKED: it was rejected.
 * NOT_SENT: the type was requested and nothing has been sent yet (e.g. every name asked for does not exist).
 */
export type SyncStatus = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SENT';

export interface NackRecord {
  version: string;
  nonce: string;
  message: string;
  at: Date;
}

export interface TypeStreamInfo {
  typeUrl: TypeUrl;
  wildcard: boolean;
  /** Explicitly named resources (excluding the wildcard). */
  subscribed: string[];
  lastSentVersion?: string;
  lastSentNonce?: string;
  lastSentAt?: Date;
  lastAckedVersion?: string;
  lastAckedAt?: Date;
  lastNack?: NackRecord;
  status: SyncStatus;
  /** Resource name → version the client confirmed holding by ACKing a response that carried it (Subscription.acked). */
  acked: ReadonlyMap<string, string>;
}

export interface StreamInfo {
  id: string;
  protocol: XdsProtocol;
  api: XdsApi;
  node?: NodeInfo;
  peer: string;
  connectedAt: Date;
  /** The view the stream receives (`grpc` for proxyless clients, an Envoy view's key otherwise). */
  view: string;
  types: ReadonlyMap<TypeUrl, TypeStreamInfo>;
}

/** Which stream an event is about: per-response events carry this, not a full StreamInfo built for each. */
export type StreamRef = Pick<StreamInfo, 'id' | 'protocol' | 'api'>;

/** Events the xDS server emits for metrics and logs. */
export interface XdsServerEvents {
  streamOpened: [info: StreamInfo];
  streamClosed: [info: StreamInfo];
  responseSent: [stream: StreamRef, typeUrl: TypeUrl, resourceCount: number, changeSeenAt: number | undefined];
  ack: [stream: StreamRef, typeUrl: TypeUrl];
  nack: [stream: StreamRef, typeUrl: TypeUrl, nack: NackRecord];
}
