// CSDS: a client built on Envoy's csds.proto asks the real server what the connected nodes hold, per resource.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENVOY_PROTO_INCLUDE_DIRS } from '../../src/protos/envoy-protos.js';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { MAX_NODE_MATCHERS } from '../../src/xds/csds.js';
import { XdsServer } from '../../src/xds/server.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { SteppedSource } from './stepped-source.js';

type Csds = grpc.Client & {
  FetchClientStatus(request: unknown, callback: (err: grpc.ServiceError | null, response: ClientStatusResponse) => void): void;
  StreamClientStatus(): grpc.ClientDuplexStream<unknown, ClientStatusResponse>;
};

interface GenericXdsConfig {
  type_url: string;
  name: string;
  version_info?: string;
  client_status?: string;
  config_status?: string;
  error_state?: { details?: string; version_info?: string };
  xds_config?: { type_url: string; value: Buffer };
}
interface ClientStatusResponse {
  config?: Array<{ node: { id: string; cluster?: string; user_agent_name?: string }; generic_xds_configs?: GenericXdsConfig[] }>;
}

function csdsClient(address: string): Csds {
  const definition = protoLoader.loadSync('envoy/service/status/v3/csds.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: ENVOY_PROTO_INCLUDE_DIRS as string[],
  });
  const loaded = grpc.loadPackageDefinition(definition) as any;
  const Ctor = loaded.envoy.service.status.v3.ClientStatusDiscoveryService as new (a: string, c: grpc.ChannelCredentials) => Csds;
  return new Ctor(address, grpc.credentials.createInsecure());
}

describe('CSDS', () => {
  const source = new SteppedSource(3);
  let server: XdsServer;
  let address: string;
  let csds: Csds;
  const streams: AdsTestStream[] = [];
  const fetch = (request: unknown) =>
    new Promise<ClientStatusResponse>((resolve, reject) => csds.FetchClientStatus(request, (err, res) => (err ? reject(err) : resolve(res))));

  beforeAll(async () => {
    server = new XdsServer({ source, logger: silentLogger() });
    address = await server.listen('127.0.0.1:0');
    csds = csdsClient(address);
    // csds-a ACKs CDS, ACKs svc-0's assignment, then NACKs svc-1's and waits for one that does not exist.
    const a = new AdsTestStream(address, 'sotw');
    streams.push(a);
    a.send({ node: { ...NODE, id: 'csds-a' }, type_url: TYPE_URL.cluster, resource_names: [] });
    const cds = await a.next();
    a.send({ type_url: TYPE_URL.cluster, resource_names: [], response_nonce: cds.nonce, version_info: cds.version });
    a.send({ type_url: TYPE_URL.endpoint, resource_names: ['svc-0'] });
    const eds = await a.next();
    a.send({ type_url: TYPE_URL.endpoint, resource_names: ['svc-0'], response_nonce: eds.nonce, version_info: eds.version });
    a.send({ type_url: TYPE_URL.endpoint, resource_names: ['svc-0', 'svc-1', 'nosuch'], response_nonce: eds.nonce, version_info: eds.version });
    const grown = await a.next();
    a.send({ type_url: TYPE_URL.endpoint, resource_names: ['svc-0', 'svc-1', 'nosuch'], response_nonce: grown.nonce, version_info: eds.version, error_detail: { code: 3, message: 'svc-1 rejected by test' } });
    // csds-b asks for the clusters and never answers.
    const b = new AdsTestStream(address, 'delta');
    streams.push(b);
    b.send({ node: { ...NODE, id: 'csds-b' }, type_url: TYPE_URL.cluster });
    await b.next();
    const other = new AdsTestStream(address, 'sotw');
    streams.push(other);
    other.send({ node: { ...NODE, id: 'other' }, type_url: TYPE_URL.listener, resource_names: [] });
    await other.next();
    await eventually(async () => server.streamInfos().find((s) => s.node?.id === 'csds-a')?.types.get(TYPE_URL.endpoint)?.status, (s) => s === 'NACKED', 'the NACK recorded');
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    csds?.close();
    await server?.close(100);
  });

  it('reports per resource what a node ACKed, NACKed and waits for, with node matchers honoured', async () => {
    const response = await fetch({ node_matchers: [{ node_id: { exact: 'csds-a' } }] });
    expect(response.config?.map((c) => c.node.id)).toEqual(['csds-a']);
    const configs = response.config![0]!.generic_xds_configs!;
    const byKey = new Map(configs.map((c) => [`${c.type_url.split('.').pop()}/${c.name}`, c]));
    const clusters = source.current().resources.get(TYPE_URL.cluster)!;
    const assignments = source.current().resources.get(TYPE_URL.endpoint)!;
    for (const name of ['svc-0', 'svc-1', 'svc-2']) {
      expect(byKey.get(`Cluster/${name}`)).toMatchObject({ client_status: 'ACKED', config_status: 'SYNCED', version_info: clusters.get(name)!.version });
      expect(byKey.get(`Cluster/${name}`)!.xds_config!.type_url).toBe(TYPE_URL.cluster);
    }
    expect(byKey.get('ClusterLoadAssignment/svc-0')).toMatchObject({ client_status: 'ACKED', config_status: 'SYNCED', version_info: assignments.get('svc-0')!.version });
    expect(byKey.get('ClusterLoadAssignment/svc-1')).toMatchObject({
      client_status: 'NACKED',
      config_status: 'ERROR',
      error_state: { details: 'svc-1 rejected by test', version_info: assignments.get('svc-1')!.version },
    });
    expect(byKey.get('ClusterLoadAssignment/svc-1')!.version_info ?? '').toBe('');
    expect(byKey.get('ClusterLoadAssignment/nosuch')).toMatchObject({ client_status: 'DOES_NOT_EXIST' });
    expect(configs.filter((c) => c.type_url === TYPE_URL.endpoint).map((c) => c.name)).toEqual(['nosuch', 'svc-0', 'svc-1']);
  });

  it('streams answers, matches by prefix, marks what was sent and not yet ACKed as REQUESTED, and can leave contents out', async () => {
    const call = csds.StreamClientStatus();
    try {
      const next = () => new Promise<ClientStatusResponse>((resolve) => call.once('data', resolve));
      const answer = next();
      call.write({ node_matchers: [{ node_id: { prefix: 'CSDS-', ignore_case: true } }], exclude_resource_contents: true });
      const response = await answer;
      expect(response.config?.map((c) => c.node.id)).toEqual(['csds-a', 'csds-b']);
      const b = response.config![1]!.generic_xds_configs!;
      expect(b.map((c) => [c.name, c.client_status, c.config_status])).toEqual([
        ['svc-0', 'REQUESTED', 'STALE'],
        ['svc-1', 'REQUESTED', 'STALE'],
        ['svc-2', 'REQUESTED', 'STALE'],
      ]);
      expect(response.config!.flatMap((c) => c.generic_xds_configs ?? []).some((c) => c.xds_config)).toBe(false);
      const all = next();
      call.write({});
      expect((await all).config?.map((c) => c.node.id)).toEqual(['csds-a', 'csds-b', 'other']);
    } finally {
      call.end();
    }
  });

  it('refuses matchers it cannot honour, and more than MAX_NODE_MATCHERS', async () => {
    await expect(fetch({ node_matchers: [{ node_id: { safe_regex: { regex: '.*' } } }] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const many = Array.from({ length: MAX_NODE_MATCHERS + 1 }, (_, i) => ({ node_id: { exact: `n${i}` } }));
    await expect(fetch({ node_matchers: many })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});
