// The sample gRPC service (etcdxds.v1.Greeter): a server that answers with its instance id, and a client for it.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation } from 'grpc-health-check';
import { PROJECT_PROTO_DIR } from '../protos/project-protos.js';

export interface HelloReply {
  message: string;
  instance_id: string;
  service: string;
}

type GreeterClient = grpc.Client & {
  SayHello(
    request: { name: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, reply?: HelloReply) => void,
  ): grpc.ClientUnaryCall;
};

interface GreeterPackage {
  etcdxds: { v1: { Greeter: grpc.ServiceClientConstructor } };
}

let loaded: GreeterPackage | undefined;
function greeterPackage(): GreeterPackage {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(path.join(PROJECT_PROTO_DIR, 'etcdxds/v1/demo.proto'), { keepCase: true }),
  ) as unknown as GreeterPackage;
  return loaded;
}

export interface GreeterServer {
  readonly port: number;
  /** Calls served so far. */
  readonly calls: () => number;
  /** grpc.health.v1 answer for the server ('') and for the Greeter: SERVING or NOT_SERVING. */
  setServing(serving: boolean): void;
  /** Graceful: lets calls in flight finish (forced after 2 s). */
  close(): Promise<void>;
  /** Stops at once, failing calls in flight and dropping connections, as a crash would. */
  kill(): void;
}

const GREETER_SERVICE_NAME = 'etcdxds.v1.Greeter';

/** Request metadata naming how long a server started with `delayFromMetadata` waits before it answers. */
export const DELAY_HEADER = 'x-delay-ms';
/** A requested delay is capped here, so a caller cannot hold a call (and the server's shutdown) for long. */
export const MAX_REQUESTED_DELAY_MS = 5_000;

/** The delay a call asks for in `x-delay-ms` (whole milliseconds, capped); 0 when absent or not a number. */
function requestedDelayMs(metadata: grpc.Metadata): number {
  const value = metadata.get(DELAY_HEADER)[0];
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value)) return 0;
  return Math.min(Number(value), MAX_REQUESTED_DELAY_MS);
}

/**
 * Starts a Greeter, with grpc.health.v1 reporting SERVING, on host:port (port 0 = any free port). `instanceId` may be
 * a function, read at each call, for an id that names the port chosen at bind time. With `delayFromMetadata`, a call
 * carrying `x-delay-ms: N` is answered after N ms (at most 5 s): a slow backend for timeout tests. Off by default.
 */
export async function startGreeterServer(options: {
  service: string;
  instanceId: string | (() => string);
  host?: string;
  port?: number;
  delayFromMetadata?: boolean;
}): Promise<GreeterServer> {
  const id = options.instanceId;
  const instanceId = typeof id === 'function' ? id : () => id;
  const server = new grpc.Server();
  let calls = 0;
  const health = new HealthImplementation({ '': 'SERVING', [GREETER_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);
  server.addService(greeterPackage().etcdxds.v1.Greeter.service, {
    SayHello: (call: grpc.ServerUnaryCall<{ name: string }, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) => {
      calls += 1;
      const answer = () => callback(null, { message: `hello ${call.request.name}`, instance_id: instanceId(), service: options.service });
      const delayMs = options.delayFromMetadata ? requestedDelayMs(call.metadata) : 0;
      if (delayMs === 0) return answer();
      const timer = setTimeout(answer, delayMs);
      // A caller that gave up (its deadline passed) is owed nothing: let shutdown proceed without waiting.
      call.on('cancelled', () => clearTimeout(timer));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host ?? '0.0.0.0'}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    calls: () => calls,
    setServing: (serving) => {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(GREETER_SERVICE_NAME, status);
    },
    kill: () => server.forceShutdown(),
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000).unref();
      }),
  };
}

/** A Greeter client; with an `xds:///<service>` target it resolves and balances through the xDS server. */
export function greeterClient(target: string, channelOptions: grpc.ChannelOptions = {}): {
  /** `headers` go out as request metadata (header-matched routes, `x-delay-ms`). */
  sayHello(name: string, deadlineMs?: number, headers?: Record<string, string>): Promise<HelloReply>;
  close(): void;
} {
  const Greeter = greeterPackage().etcdxds.v1.Greeter;
  const client = new Greeter(target, grpc.credentials.createInsecure(), channelOptions) as unknown as GreeterClient;
  return {
    sayHello: (name, deadlineMs = 5_000, headers = {}) =>
      new Promise((resolve, reject) => {
        const metadata = new grpc.Metadata();
        for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
        client.SayHello({ name }, metadata, { deadline: Date.now() + deadlineMs }, (err, reply) => (err ? reject(err) : resolve(reply!)));
      }),
    close: () => client.close(),
  };
}
