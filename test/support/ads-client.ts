// A raw xDS client for protocol tests: grpc-js with Envoy's protos, every request written by the test.
import * as grpc from '@grpc/grpc-js';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { discoveryPackageDefinition } from '../../src/protos/grpc-services.js';
import type { StreamFlow, XdsServer } from '../../src/xds/server.js';
import { eventually } from './eventually.js';

export interface DecodedResource {
  name: string;
  version?: string;
  typeUrl: string;
  /** Decoded message as a plain object (keepCase, enums as strings); empty for a heartbeat. */
  message: Record<string, unknown>;
  /** TTL in seconds carried by a Resource wrapper (delta, or SotW with resource-in-sotw). */
  ttlSeconds?: number;
  /** A Resource without a body: a TTL heartbeat. */
  heartbeat?: boolean;
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

interface RawResource {
  name: string;
  version: string;
  resource?: RawAny | null;
  ttl?: { seconds?: string | number; nanos?: number } | null;
}

const RESOURCE_WRAPPER = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

function decodeResource(raw: RawResource): DecodedResource {
  const decoded: DecodedResource = {
    name: raw.name,
    version: raw.version,
    typeUrl: raw.resource?.type_url ?? '',
    message: raw.resource ? decodeAny(raw.resource) : {},
  };
  if (raw.ttl) decoded.ttlSeconds = Number(raw.ttl.seconds ?? 0) + (raw.ttl.nanos ?? 0) / 1e9;
  if (!raw.resource) decoded.heartbeat = true;
  return decoded;
}

/** A SotW entry: the resource's Any, or a Resource wrapper around it. */
function decodeSotwEntry(any: RawAny): DecodedResource {
  if (any.type_url === RESOURCE_WRAPPER) {
    const type = envoyType('envoy.service.discovery.v3.Resource');
    return decodeResource(type.toObject(type.decode(any.value), { longs: String }) as RawResource);
  }
  const message = decodeAny(any);
  return { name: resourceName(message), typeUrl: any.type_url, message };
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

  /** Why the stream ended, when the server or transport ended it with an error. */
  error: Error | undefined;

  /** Requests written, and responses handed to the test by next(): what the server's counters are held against. */
  requestsSent = 0;
  responsesTaken = 0;
  /** The node id of the first request that carried a node: how the server's side of this stream is found. */
  nodeId: string | undefined;

  constructor(
    address: string,
    readonly protocol: 'sotw' | 'delta',
    service: ServiceName = 'ads',
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    const [serviceName, sotwMethod, deltaMethod] = SERVICE[service];
    const Ctor = clientConstructor(serviceName);
    this.client = new Ctor(address, credentials);
    const method = protocol === 'sotw' ? sotwMethod : deltaMethod;
    this.call = (this.client as unknown as Record<string, () => typeof this.call>)[method]!.call(this.client);
    this.call.on('data', (raw: Record<string, unknown>) => this.receive(raw));
    this.call.on('error', (err: Error) => {
      this.error = err;
      this.ended = true;
    });
    this.call.on('end', () => (this.ended = true));
  }

  private receive(raw: Record<string, unknown>): void {
    const response: ReceivedResponse =
      this.protocol === 'sotw'
        ? {
            version: String(raw.version_info ?? ''),
            nonce: String(raw.nonce ?? ''),
            typeUrl: String(raw.type_url ?? ''),
            resources: ((raw.resources as RawAny[]) ?? []).map(decodeSotwEntry),
            removed: [],
          }
        : {
            version: String(raw.system_version_info ?? ''),
            nonce: String(raw.nonce ?? ''),
            typeUrl: String(raw.type_url ?? ''),
            resources: ((raw.resources as RawResource[]) ?? []).map(decodeResource),
            removed: (raw.removed_resources as string[]) ?? [],
          };
    const waiter = this.waiters.shift();
    if (waiter) waiter(response);
    else this.queue.push(response);
  }

  /** Stops reading from the server (HTTP/2 flow control then holds the server's writes back). */
  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  send(request: Record<string, unknown>): void {
    const node = request.node as { id?: unknown } | undefined;
    if (this.nodeId === undefined && typeof node?.id === 'string') this.nodeId = node.id;
    this.requestsSent += 1;
    this.call.write(request);
  }

  /** Next response, failing after timeoutMs. */
  next(timeoutMs = 5_000): Promise<ReceivedResponse> {
    const queued = this.queue.shift();
    if (queued) {
      this.responsesTaken += 1;
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no xDS response within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: ReceivedResponse) => {
        clearTimeout(timer);
        this.responsesTaken += 1;
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  /** Responses received and not yet taken by next() (for failure messages). */
  untaken(): readonly ReceivedResponse[] {
    return [...this.queue];
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}

/**
 * Proves that `server` has sent `stream` nothing beyond the responses the test took with next(). The server answers
 * a request as it reads it, and pushes a snapshot to every stream as it publishes it; so once it has read every
 * request the stream sent (and, for a change that must not reach the stream, once that change is published), a
 * response it owed would already be counted in the stream's responsesWritten. No waiting for something not to come.
 * The server's side of the stream is found by its node id, which must be the stream's own.
 */
export async function expectNoResponsePending(server: XdsServer, stream: AdsTestStream): Promise<void> {
  const nodeId = stream.nodeId;
  if (nodeId === undefined) throw new Error('the stream has sent no node: its server side cannot be found');
  const flowsOfNode = (): StreamFlow[] => {
    const ids = new Set(server.streamInfos().filter((info) => info.node?.id === nodeId).map((info) => info.id));
    return server.streamFlows().filter((flow) => ids.has(flow.id));
  };
  const flows = await eventually(
    flowsOfNode,
    (found) => found.length > 1 || (found.length === 1 && found[0]!.requestsRead >= stream.requestsSent),
    `the server to read the ${stream.requestsSent} requests of the stream of node ${nodeId}`,
  );
  if (flows.length > 1) throw new Error(`${flows.length} open streams have node id ${nodeId}: give this stream a node id of its own`);
  const written = flows[0]!.responsesWritten;
  if (written !== stream.responsesTaken) {
    const seen = stream.untaken().map((r) => `${r.typeUrl} [${r.resources.map((x) => x.name).join(', ')}]`);
    throw new Error(
      `the server wrote ${written} responses to the stream of node ${nodeId}, the test took ${stream.responsesTaken}` +
        (seen.length > 0 ? `; received and not taken: ${seen.join('; ')}` : ''),
    );
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
      resources: ((raw.resources as RawAny[]) ?? []).map(decodeSotwEntry),
    };
  } finally {
    client.close();
  }
}
