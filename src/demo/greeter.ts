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

/**
 * Starts a Greeter, with grpc.health.v1 reporting SERVING, on host:port (port 0 = any free port). `instanceId` may be
 * a function, read at each call, for an id that names the port chosen at bind time.
 */
export async function startGreeterServer(options: {
  service: string;
  instanceId: string | (() => string);
  host?: string;
  port?: number;
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
      callback(null, { message: `hello ${call.request.name}`, instance_id: instanceId(), service: options.service });
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
  sayHello(name: string, deadlineMs?: number): Promise<HelloReply>;
  close(): void;
} {
  const Greeter = greeterPackage().etcdxds.v1.Greeter;
  const client = new Greeter(target, grpc.credentials.createInsecure(), channelOptions) as unknown as GreeterClient;
  return {
    sayHello: (name, deadlineMs = 5_000) =>
      new Promise((resolve, reject) =>
        client.SayHello({ name }, { deadline: Date.now() + deadlineMs }, (err, reply) => (err ? reject(err) : resolve(reply!))),
      ),
    close: () => client.close(),
  };
}
