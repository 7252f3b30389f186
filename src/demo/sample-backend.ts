// A sample backend (HTTP or the gRPC Greeter) that registers itself with the SDK once its port listens, the way a
// real service would. `etcd-xds sample-backend` and `etcd-xds demo` both run it; the demo runs three in-process.
import net from 'node:net';
import os from 'node:os';
import type { Namespace } from 'etcd3';
import { detectAddress } from '../registration/address.js';
import type { RegistrationLogger } from '../registration/leased-key.js';
import { register, type Registration } from '../registration/register.js';
import type { HealthCheckSpec } from '../registry/types.js';
import type { EtcdConnection } from '../registry/etcd-client.js';
import { startGreeterServer } from './greeter.js';
import { startHttpBackend } from './http-backend.js';

export type SampleBackendKind = 'http' | 'grpc';

export interface SampleBackendOptions {
  kind: SampleBackendKind;
  service: string;
  /** Port to listen on; 0 = any free port (the chosen one is registered). */
  port: number;
  /** Listen address; default 0.0.0.0, or :: when `address` is IPv6. */
  host?: string;
  /** 'auto' (default: detected from the network interfaces) or the IP literal to register. */
  address?: 'auto' | string;
  /** Default `<hostname>-<address>-<port>`, the SDK's default. */
  instanceId?: string;
  etcd: Namespace | EtcdConnection;
  prefix?: string;
  drainSeconds?: number;
  ttlSeconds?: number;
  zone?: string;
  /** Registration metadata (e.g. `version: v2`), beside the `protocol` a gRPC backend registers. */
  metadata?: Readonly<Record<string, string>>;
  logger?: RegistrationLogger;
  /** Aborts a start still waiting for etcd; the server is stopped then. */
  signal?: AbortSignal;
}

export interface SampleBackend {
  readonly kind: SampleBackendKind;
  readonly service: string;
  readonly instanceId: string;
  readonly address: string;
  readonly port: number;
  /** The etcd key of this instance. */
  readonly key: string;
  readonly registration: Registration;
  /** Requests (HTTP) or calls (gRPC) answered so far. */
  served(): number;
  /** SDK drain: listed as draining for drainSeconds, key deleted, then the server stops gracefully. Idempotent. */
  drain(): Promise<void>;
  /** Deregisters at once (cutting a drain short) and stops the server gracefully. */
  stop(): Promise<void>;
  /** A crash: the server drops every connection and the lease is no longer kept alive, so the key expires. */
  kill(): void;
}

interface RunningServer {
  port: number;
  served(): number;
  setServing(serving: boolean): void;
  close(): Promise<void>;
  kill(): void;
}

/** What the control plane probes: `/healthz` for HTTP, grpc.health.v1 (whole server) for gRPC. */
export function sampleHealthCheck(kind: SampleBackendKind): HealthCheckSpec {
  return kind === 'http' ? { type: 'http', path: '/healthz' } : { type: 'grpc' };
}

export async function startSampleBackend(options: SampleBackendOptions): Promise<SampleBackend> {
  const address =
    options.address === undefined || options.address === 'auto'
      ? detectAddress(options.logger ? { logger: options.logger } : {})
      : options.address;
  const host = options.host ?? (net.isIPv6(address) ? '::' : '0.0.0.0');
  let instanceId = options.instanceId ?? '';
  const running = await startServer(options.kind, { service: options.service, instanceId: () => instanceId, host, port: options.port });
  // The SDK's default id names the port, which is known only now when port 0 was asked for.
  instanceId = options.instanceId ?? `${os.hostname()}-${address}-${running.port}`;

  let registration: Registration;
  try {
    registration = await register({
      service: options.service,
      port: running.port,
      address,
      instanceId,
      etcd: options.etcd,
      ...(options.prefix !== undefined && { prefix: options.prefix }),
      ...(options.drainSeconds !== undefined && { drainSeconds: options.drainSeconds }),
      ...(options.ttlSeconds !== undefined && { ttlSeconds: options.ttlSeconds }),
      ...(options.zone !== undefined && { locality: { zone: options.zone } }),
      // A gRPC backend speaks HTTP/2 only: this metadata makes the snapshot build an HTTP/2 cluster for Envoy.
      metadata: { ...options.metadata, ...(options.kind === 'grpc' && { protocol: 'grpc' }) },
      healthCheck: sampleHealthCheck(options.kind),
      ...(options.logger !== undefined && { logger: options.logger }),
      ...(options.signal !== undefined && { signal: options.signal }),
    });
  } catch (err) {
    running.kill();
    throw err;
  }

  let ending: Promise<void> | undefined;
  return {
    kind: options.kind,
    service: options.service,
    instanceId,
    address,
    port: running.port,
    key: registration.key,
    registration,
    served: () => running.served(),
    drain: () =>
      (ending ??= (async () => {
        // Other balancers (and the control plane's health check) see the drain too.
        running.setServing(false);
        await registration.drain();
        await running.close();
      })()),
    stop: async () => {
      await registration.deregister();
      ending ??= running.close();
      await ending;
    },
    kill: () => {
      registration.close();
      running.kill();
      ending ??= Promise.resolve();
    },
  };
}

async function startServer(
  kind: SampleBackendKind,
  options: { service: string; instanceId: () => string; host: string; port: number },
): Promise<RunningServer> {
  if (kind === 'http') {
    const http = await startHttpBackend(options);
    return { port: http.port, served: http.requests, setServing: http.setServing, close: http.close, kill: http.kill };
  }
  const grpc = await startGreeterServer(options);
  return { port: grpc.port, served: grpc.calls, setServing: grpc.setServing, close: grpc.close, kill: grpc.kill };
}
