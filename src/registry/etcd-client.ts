// etcd client settings the registry watcher relies on. grpc-js defaults do not suit a long-lived watch:
// received messages are capped at 4 MiB, a silently dropped connection is never noticed without keepalive
// pings, and reconnect backoff grows to two minutes, which would keep a restarted etcd unused for that long.
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

/** Options for `new Etcd3(...)`: the given endpoints (comma-separated URLs accepted) plus the settings above. */
export function etcdClientOptions(endpoints: string | readonly string[], extra: Partial<IOptions> = {}): IOptions {
  const hosts = (typeof endpoints === 'string' ? endpoints.split(',') : [...endpoints])
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '');
  if (hosts.length === 0) throw new Error('no etcd endpoints given');
  return { ...extra, hosts, grpcOptions: { ...ETCD_GRPC_OPTIONS, ...extra.grpcOptions } };
}

export function createEtcdClient(endpoints: string | readonly string[], extra: Partial<IOptions> = {}): Etcd3 {
  return new Etcd3(etcdClientOptions(endpoints, extra));
}
