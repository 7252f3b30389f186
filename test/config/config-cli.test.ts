// `etcd-xds config` as a user runs it, against a real etcd: apply writes validated objects under the config prefix,
// get prints them back as documents apply reads, delete removes one; a bad file exits 2 with the path of each error
// and writes nothing; --dry-run prints what each group of nodes would receive, as valid proto3 JSON.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateEnvoyMessage } from '../../src/envoy/validate.js';
import { CLI_ENTRY } from '../support/cli.js';
import { useTestEtcd } from '../support/etcd-suite.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const workDir = mkdtempSync(path.join(os.tmpdir(), 'config-cli-'));
const CONFIG_PREFIX = `/cli-test-${process.pid}/config/`;
const REG_PREFIX = `/cli-test-${process.pid}/services/`;

const db = useTestEtcd();
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], endpoint = db.etcd.endpoint): Promise<Run> {
  const env = { ...process.env };
  for (const name of ['ETCD_ENDPOINTS', 'XDS_PREFIX', 'XDS_CONFIG_PREFIX', 'LOG_LEVEL']) delete env[name];
  const all = ['--import', 'tsx', CLI_ENTRY, 'config', ...args, '--etcd-endpoints', endpoint, '--config-prefix', CONFIG_PREFIX];
  return new Promise((resolve) => {
    execFile(process.execPath, all, { cwd: repoRoot, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

function writeFile(name: string, text: string): string {
  const file = path.join(workDir, name);
  writeFileSync(file, text);
  return file;
}

const CANARY = `kind: ServicePolicy
name: greeter
spec:
  connectTimeout: 1s
  subsets:
    key: version
    split:
      - { value: v1, weight: 90 }
      - { value: v2, weight: 10 }
---
kind: Gateway
name: front
spec:
  match: { nodeCluster: front-proxy }
  serviceHostRouting: true
  virtualHosts:
    - name: site
      domains: [localhost]
      routes:
        - match: { prefix: /, headers: [{ name: x-canary, exact: "yes" }] }
          split: [{ service: greeter, subset: v2, weight: 100 }]
        - match: { prefix: / }
          service: greeter
`;

// Each CLI run starts a Node process with tsx: seconds apiece on a loaded machine, so these tests get room.
describe('etcd-xds config', { timeout: 240_000 }, () => {
  it('apply writes each document under the config prefix; get prints them back; delete removes one', async () => {
    const file = writeFile('canary.yaml', CANARY);
    const applied = await runCli(['apply', '-f', file]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toBe(
      `ServicePolicy greeter: applied (${CONFIG_PREFIX}services/greeter)\nGateway front: applied (${CONFIG_PREFIX}gateways/front)\n`,
    );
    expect(applied.code).toBe(0);
    expect(JSON.parse((await db.client.get(`${CONFIG_PREFIX}services/greeter`).string())!)).toEqual({
      connectTimeout: '1s',
      subsets: { key: 'version', split: [{ value: 'v1', weight: 90 }, { value: 'v2', weight: 10 }] },
    });

    await db.client.put(`${CONFIG_PREFIX}services/broken`).value('{"lbPolicy":"FASTEST"}');
    const listed = await runCli(['get']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('kind: ServicePolicy\nname: greeter\nspec:\n  connectTimeout: 1s\n');
    expect(listed.stdout).toContain('kind: Gateway\nname: front\n');
    expect(listed.stdout).toMatch(/# ".*services\/broken" does not validate: "lbPolicy: invalid enum value \\"FASTEST\\"/);

    // What get prints, apply takes back unchanged.
    const roundTrip = await runCli(['apply', '-f', writeFile('round-trip.yaml', (await runCli(['get', 'Gateway', 'front'])).stdout)]);
    expect(roundTrip).toMatchObject({ code: 0, stdout: `Gateway front: applied (${CONFIG_PREFIX}gateways/front)\n` });

    const deleted = await runCli(['delete', 'gateway', 'front']);
    expect(deleted).toMatchObject({ code: 0, stdout: `Gateway front: deleted (${CONFIG_PREFIX}gateways/front)\n` });
    expect(await db.client.get(`${CONFIG_PREFIX}gateways/front`).string()).toBeNull();
    const [again, missing] = await Promise.all([runCli(['delete', 'Gateway', 'front']), runCli(['get', 'Gateway', 'front'])]);
    expect(again).toMatchObject({ code: 1, stderr: `Gateway front: not found (${CONFIG_PREFIX}gateways/front)\n` });
    expect(missing).toMatchObject({ code: 1, stderr: 'Gateway front: not found\n' });
  });

  it('refuses a bad file with exit 2, naming each error by document and path, and writes nothing', async () => {
    const bad = CANARY.replace('weight: 10 }', 'weight: -10 }').replace('domains: [localhost]', 'domains: []').replace('name: front', 'name: front\nspecs: {}');
    const run = await runCli(['apply', '-f', writeFile('bad.yaml', bad)]);
    expect(run.code).toBe(2);
    const file = path.join(workDir, 'bad.yaml');
    expect(run.stderr.trim().split('\n')).toEqual([
      `etcd-xds config: ${file}: document 1 (ServicePolicy greeter): spec.subsets.split[1].weight: -10 is out of range for uint32 (0..4294967295)`,
      `${file}: document 2 (Gateway front): specs: unknown field "specs" (a document has kind, name and spec)`,
    ]);
    const semantic = await runCli(['apply', '-f', writeFile('bad2.yaml', CANARY.replace('domains: [localhost]', 'domains: []'))]);
    expect(semantic.code).toBe(2);
    expect(semantic.stderr).toContain('document 2 (Gateway front): spec.virtualHosts[0].domains: needs at least one domain (or "*")');
    expect(await db.client.get(`${CONFIG_PREFIX}gateways/front`).string()).toBeNull();
    const kind = await runCli(['delete', 'Route', 'x']);
    expect(kind).toMatchObject({ code: 2, stderr: 'etcd-xds config: unknown kind "Route": use ServicePolicy or Gateway\n' });
  });

  it('--dry-run prints valid proto3 JSON per node group without etcd, or with the registrations in etcd', async () => {
    const file = writeFile('dry.yaml', CANARY);
    // Without --registrations-from-etcd no etcd is contacted: a closed port proves it.
    const offline = await runCli(['apply', '-f', file, '--dry-run'], 'http://127.0.0.1:1');
    expect(offline.stderr).toBe('');
    expect(offline.code).toBe(0);
    const groups = JSON.parse(offline.stdout).groups as { nodes: string; resources: Record<string, Record<string, unknown>[]> }[];
    expect(groups.map((g) => g.nodes)).toEqual([
      'Envoy nodes matched by gateway front',
      'Envoy nodes without a gateway (shown for the affected services)',
      'proxyless gRPC clients (shown for the affected services)',
    ]);
    for (const group of groups) {
      for (const [typeUrl, list] of Object.entries(group.resources)) {
        for (const resource of list) expect(validateEnvoyMessage(typeUrl.replace('type.googleapis.com/', ''), resource)).toEqual([]);
      }
    }
    expect(groups[0]!.resources['type.googleapis.com/envoy.config.cluster.v3.Cluster']!.map((c) => c['name'])).toEqual([
      'greeter',
      'greeter~version=v1',
      'greeter~version=v2',
    ]);

    await db.client.put(`${REG_PREFIX}greeter/a`).value(JSON.stringify({ address: '10.0.0.1', port: 50051, metadata: { version: 'v1' } }));
    await db.client.put(`${REG_PREFIX}greeter/b`).value(JSON.stringify({ address: '10.0.0.2', port: 50051, metadata: { version: 'v2' } }));
    const online = await runCli(['apply', '-f', file, '--dry-run', '--registrations-from-etcd', '--prefix', REG_PREFIX]);
    expect(online.code).toBe(0);
    const proxyless = (JSON.parse(online.stdout).groups as typeof groups)[2]!;
    const assignments = proxyless.resources['type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment']!;
    const addresses = Object.fromEntries(
      assignments.map((a) => [a['cluster_name'], JSON.stringify(a).match(/10\.0\.0\.\d/g) ?? []]),
    );
    expect(addresses).toEqual({ greeter: ['10.0.0.1', '10.0.0.2'], 'greeter~version=v1': ['10.0.0.1'], 'greeter~version=v2': ['10.0.0.2'] });
  });
});
