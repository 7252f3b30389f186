// A raw xDS client for protocol tests: grpc-js with Envoy's protos, every request written by the test.
import * as grpc from '@grpc/grpc-js';
import { discoveryPackageDefinition, envoyType } from '../../src/envoy/protos.js';

export interface DecodedResource {
  name: string;
  version?: string;
  typeUrl: string;
  /** Decoded message as a plain object (keepCase, enums as strings). */
  message: Record<string, unknown>;
}

export interface ReceivedResponse {
  version: string;
  nonce: string;
  typeUrl: string;
  resources: DecodedResource[];
  removed: string[];
}

interface RawAny {
  type_url: string;
  value: Buffer;
}

function decodeAny(any: RawAny): Record<string, unknown> {
  const type = envoyType(any.type_url.replace('type.googleapis.com/', ''));
  return type.toObject(type.decode(any.value), { enums: String, longs: String, defaults: false }) as Record<string, unknown>;
}

function resourceName(message: Record<string, unknown>): string {
  return String(message.name ?? message.cluster_name ?? '');
}

type ServiceName = 'ads' | 'eds' | 'cds' | 'lds' | 'rds';
const SERVICE: Record<ServiceName, [string, string, string]> = {
  ads: ['envoy.service.discovery.v3.AggregatedDiscoveryService', 'StreamAggregatedResources', 'DeltaAggregatedResources'],
  eds: ['envoy.service.endpoint.v3.EndpointDiscoveryService', 'StreamEndpoints', 'DeltaEndpoints'],
  cds: ['envoy.service.cluster.v3.ClusterDiscoveryService', 'StreamClusters', 'DeltaClusters'],
  lds: ['envoy.service.listener.v3.ListenerDiscoveryService', 'StreamListeners', 'DeltaListeners'],
  rds: ['envoy.service.route.v3.RouteDiscoveryService', 'StreamRoutes', 'DeltaRoutes'],
};

type ClientCtor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;

function clientConstructor(serviceName: string): ClientCtor {
  const loaded = grpc.loadPackageDefinition(discoveryPackageDefinition());
  let node: unknown = loaded;
  for (const part of serviceName.split('.')) node = (node as Record<string, unknown>)[part];
  return node as ClientCtor;
}

export class AdsTestStream {
  private readonly queue: ReceivedResponse[] = [];
  private waiters: Array<(r: ReceivedResponse) => void> = [];
  readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;
  ended = false;

  constructor(address: string, readonly protocol: 'sotw' | 'delta', service: ServiceName = 'ads') {
    const [serviceName, sotwMethod, deltaMethod] = SERVICE[service];
    const Ctor = clientConstructor(serviceName);
    this.client = new Ctor(address, grpc.credentials.createInsecure());
    const method = protocol === 'sotw' ? sotwMethod : deltaMethod;
    this.call = (this.client as unknown as Record<string, () => typeof this.call>)[method]!.call(this.client);
    this.call.on('data', (raw: Record<string, unknown>) => this.receive(raw));
    this.call.on('error', () => (this.ended = true));
    this.call.on('end', () => (this.ended = true));
  }

  private receive(raw: Record<string, unknown>): void {
    const response: ReceivedResponse =
      this.protocol === 'sotw'
        ? {
            version: String(raw.version_info ?? ''),
            nonce: String(raw.nonce ?? ''),
            typeUrl: String(raw.type_url ?? ''),
            resources: ((raw.resources as RawAny[]) ?? []).map((any) => {
              const message = decodeAny(any);
              return { name: resourceName(message), typeUrl: any.type_url, message };
            }),
            removed: [],
          }
        : {
            version: String(raw.system_version_info ?? ''),
            nonce: String(raw.nonce ?? ''),
            typeUrl: String(raw.type_url ?? ''),
            resources: ((raw.resources as Array<{ name: string; version: string; resource: RawAny }>) ?? []).map((r) => ({
              name: r.name,
              version: r.version,
              typeUrl: r.resource.type_url,
              message: decodeAny(r.resource),
            })),
            removed: (raw.removed_resources as string[]) ?? [],
          };
    const waiter = this.waiters.shift();
    if (waiter) waiter(response);
    else this.queue.push(response);
  }

  send(request: Record<string, unknown>): void {
    this.call.write(request);
  }

  /** Next response, failing after timeoutMs. */
  next(timeoutMs = 5_000): Promise<ReceivedResponse> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no xDS response within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: ReceivedResponse) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  /** Asserts that nothing arrives for `ms`; returns what did arrive (expected empty). */
  async nothingWithin(ms: number): Promise<ReceivedResponse[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0);
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}

export const NODE = { id: 'test-node', cluster: 'test-cluster', locality: {}, user_agent_name: 'ads-test-client' };

/** Unary Fetch* on a per-type service (FetchEndpoints, FetchClusters, ...), decoded. */
export async function fetchResources(
  address: string,
  service: Exclude<ServiceName, 'ads'>,
  request: Record<string, unknown>,
): Promise<{ version: string; resources: DecodedResource[] }> {
  const [serviceName, sotwMethod] = SERVICE[service];
  const Ctor = clientConstructor(serviceName);
  const client = new Ctor(address, grpc.credentials.createInsecure());
  const method = sotwMethod.replace('Stream', 'Fetch');
  try {
    const raw = await new Promise<Record<string, unknown>>((resolve, reject) =>
      (client as unknown as Record<string, (req: unknown, cb: (err: Error | null, res: Record<string, unknown>) => void) => void>)[method]!.call(
        client,
        request,
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
    return {
      version: String(raw.version_info ?? ''),
      resources: ((raw.resources as RawAny[]) ?? []).map((any) => {
        const message = decodeAny(any);
        return { name: resourceName(message), typeUrl: any.type_url, message };
      }),
    };
  } finally {
    client.close();
  }
}
