// (h) A ServicePolicy put into etcd → a real proxyless client's traffic follows it: two Greeter backends (metadata
// version v1 and v2) registered under the fleet's prefix, a @grpc/grpc-js-xds client in this process calling them
// back to back, and the policy's split flipped between 100/0 and 0/100 the way `config apply` writes it. Each sample
// runs from the start of the put to the first reply from the subset the new split names.
import type { Etcd3 } from 'etcd3';
import { writeConfigDocuments } from '../../../src/cli/config.js';
import { readConfigDocuments } from '../../../src/config/documents.js';
import { greeterClient, startGreeterServer } from '../../../src/demo/greeter.js';
import { writeXdsBootstrap } from '../../support/control-plane.js';
import { owned, waitFor, withTimeout } from '../lifecycle.js';
import { percentile } from '../measure.js';

export interface ConfigFollow {
  rounds: number;
  p50: number;
  p99: number;
  samples: number[];
}

const SERVICE = 'bench-canary';
const VERSIONS = ['v1', 'v2'] as const;

function policyDocuments(to: (typeof VERSIONS)[number]) {
  const result = readConfigDocuments(`kind: ServicePolicy
name: ${SERVICE}
spec:
  subsets:
    key: version
    split:
      - { value: v1, weight: ${to === 'v1' ? 100 : 0} }
      - { value: v2, weight: ${to === 'v2' ? 100 : 0} }
`);
  if (!result.ok) throw new Error(`the bench's policy does not validate: ${JSON.stringify(result.errors)}`);
  return result.documents;
}

export async function measureConfigFollow(client: Etcd3, xdsAddress: string, prefix: string, configPrefix: string, rounds: number): Promise<ConfigFollow> {
  const backends = await Promise.all(VERSIONS.map((version) => startGreeterServer({ service: SERVICE, instanceId: version, host: '127.0.0.1' })));
  const stopBackends = owned('config-follow backends', async () => {
    await Promise.all(backends.map((b) => b.close()));
  });
  const cleanEtcd = owned('config-follow keys', async () => {
    await client.delete().prefix(`${prefix}${SERVICE}/`);
    await client.delete().prefix(configPrefix);
  });
  // grpc-js-xds reads its bootstrap once per process: this scenario is the bench's only proxyless client.
  process.env.GRPC_XDS_BOOTSTRAP = writeXdsBootstrap(xdsAddress, 'bench-config-follow');
  (await import('@grpc/grpc-js-xds')).register();
  const greeter = greeterClient(`xds:///${SERVICE}`);
  const closeGreeter = owned('config-follow client', () => greeter.close());
  try {
    await writeConfigDocuments(client, configPrefix, policyDocuments('v1'));
    for (const [i, version] of VERSIONS.entries()) {
      await client.put(`${prefix}${SERVICE}/${version}`).value(JSON.stringify({ address: '127.0.0.1', port: backends[i]!.port, metadata: { version } }));
    }
    const answer = async () => (await greeter.sayHello('follow', 5_000)).instance_id;
    await waitFor(`the proxyless client calling ${SERVICE} v1`, 60_000, async () => ((await answer().catch(() => '')) === 'v1' ? true : undefined));

    const samples: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const to = round % 2 === 0 ? 'v2' : 'v1';
      const started = performance.now();
      await withTimeout(writeConfigDocuments(client, configPrefix, policyDocuments(to)), 30_000, `etcd put of the split to ${to}`);
      // Back to back, no pause: under a 100/0 split the first reply from `to` is the new configuration at work.
      const followed = withTimeout(
        (async () => {
          while ((await answer()) !== to);
          return performance.now();
        })(),
        30_000,
        `traffic on ${to} after the put`,
      );
      // Each put waits for the previous one to reach the client, so that one was published already, longer ago than
      // the publish spacing (--debounce) on this small fleet: every change is published on its own, not batched.
      samples.push((await followed) - started);
    }
    return { rounds, p50: percentile(samples, 50), p99: percentile(samples, 99), samples };
  } finally {
    await closeGreeter();
    await cleanEtcd();
    await stopBackends();
  }
}
