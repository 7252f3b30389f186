// gRPC probe: grpc.health.v1.Health/Check for a service name; healthy only on SERVING.
// The proto is the one the grpc-health-check package ships (never a copy in this repo).
import * as grpc from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { abortReason, hostPort } from './probe-address.js';
import type { Probe, ProbeOutcome } from './types.js';

interface HealthCheckRequest {
  service: string;
}

interface HealthCheckResponse {
  /** Enum name: UNKNOWN, SERVING, NOT_SERVING, SERVICE_UNKNOWN. */
  status: string;
}

type CheckMethod = MethodDefinition<HealthCheckRequest, HealthCheckResponse>;

let checkMethod: CheckMethod | undefined;

function healthCheckMethod(): CheckMethod {
  if (checkMethod) return checkMethod;
  const definition = loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
  const service = definition['grpc.health.v1.Health'];
  if (!service || !('Check' in service)) throw new Error(`grpc.health.v1.Health/Check not found in ${healthProtoPath}`);
  checkMethod = service.Check as CheckMethod;
  return checkMethod;
}

export interface GrpcProbeOptions {
  /** grpc.health.v1 service name; '' asks about the server as a whole. */
  service?: string;
  /**
   * Upper bound for the channel's reconnect backoff. grpc-js backs off up to 120 s by default, which would
   * keep a recovered backend marked unhealthy long after it came back; the checker passes its interval.
   */
  maxReconnectBackoffMs?: number;
}

export function grpcProbe(address: string, port: number, options: GrpcProbeOptions = {}): Probe {
  const serviceName = options.service ?? '';
  const target = hostPort(address, port);
  const maxBackoffMs = Math.max(100, options.maxReconnectBackoffMs ?? 5000);
  let client: grpc.Client | undefined;
  // The channel is opened on the first run and kept, so each probe is one RPC, not a new connection.
  const channel = (): grpc.Client =>
    (client ??= new grpc.Client(target, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': Math.min(1000, maxBackoffMs),
      'grpc.max_reconnect_backoff_ms': maxBackoffMs,
    }));
  return {
    type: 'grpc',
    target: `grpc://${target}/${serviceName}`,
    run: (signal) => checkOnce(channel(), serviceName, signal),
    close: () => {
      client?.close();
      client = undefined;
    },
  };
}

function checkOnce(client: grpc.Client, service: string, signal: AbortSignal): Promise<ProbeOutcome> {
  if (signal.aborted) return Promise.resolve({ ok: false, error: abortReason(signal) });
  const method = healthCheckMethod();
  return new Promise((resolve) => {
    const onAbort = (): void => call.cancel();
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      { service },
      new grpc.Metadata(),
      {},
      (error, response) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) resolve({ ok: false, error: abortReason(signal) });
        else if (error) resolve({ ok: false, error: `${grpc.status[error.code] ?? error.code}: ${error.details}` });
        else if (response?.status === 'SERVING') resolve({ ok: true });
        else resolve({ ok: false, error: `status ${response?.status ?? 'missing'}` });
      },
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
