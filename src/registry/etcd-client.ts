// etcd client settings the registry watcher relies on. grpc-js defaults do not suit a long-lived watch:
// received messages are capped at 4 MiB, a silently dropped connection is never noticed without keepalive
// pings, and reconnect backoff grows to two minutes, which would keep a restarted etcd unused for that long.
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';

export const ETCD_GRPC_OPTIONS = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time) by default.
  'grpc.keepalive_time_ms': 15_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
} as const;

/** How to reach etcd: endpoints, and optionally TLS files and user/password auth. */
export interface EtcdConnection {
  endpoints: readonly string[];
  /** CA bundle that signed etcd's server certificate (turns on TLS). */
  caFile?: string;
  /** Client certificate and key for etcd's client-cert auth (with caFile). */
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
}

function toConnection(target: EtcdConnection | string | readonly string[]): EtcdConnection {
  if (typeof target === 'string') return { endpoints: target.split(',') };
  return 'endpoints' in target ? (target as EtcdConnection) : { endpoints: target as readonly string[] };
}

/** Options for `new Etcd3(...)`: endpoints (comma-separated URLs accepted), TLS, auth, plus the settings above. */
export function etcdClientOptions(target: EtcdConnection | string | readonly string[], extra: Partial<IOptions> = {}): IOptions {
  const connection = toConnection(target);
  const hosts = connection.endpoints.map((endpoint) => endpoint.trim()).filter((endpoint) => endpoint !== '');
  if (hosts.length === 0) throw new Error('no etcd endpoints given');
  if ((connection.certFile === undefined) !== (connection.keyFile === undefined)) {
    throw new Error('etcd client certificate and key go together: give both or neither');
  }
  const options: IOptions = { ...extra, hosts, grpcOptions: { ...ETCD_GRPC_OPTIONS, ...extra.grpcOptions } };
  if (connection.caFile) {
    options.credentials = {
      rootCertificate: readFileSync(connection.caFile),
      ...(connection.certFile && connection.keyFile
        ? { certChain: readFileSync(connection.certFile), privateKey: readFileSync(connection.keyFile) }
        : {}),
    };
  } else if (connection.certFile) {
    throw new Error('an etcd client certificate needs the CA file (--etcd-ca) too');
  }
  if (connection.username) options.auth = { username: connection.username, password: connection.password ?? '' };
  return options;
}

export function createEtcdClient(target: EtcdConnection | string | readonly string[], extra: Partial<IOptions> = {}): Etcd3 {
  return new Etcd3(etcdClientOptions(target, extra));
}
