// docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine: the structure the demo
// relies on, pinned images, the keys Debian's docker-compose 1.29 accepts, the image's health check script, and
// requests through the bootstrap-only Envoy addressed by Host, as etcd-xds routes them.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateEnvoyYaml } from '../../src/envoy/validate.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import type { AdsTestStream, ReceivedResponse } from '../support/ads-client.js';
import { useXdsFixture } from '../support/xds-fixture.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

interface ComposeService {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[] | string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  networks?: Record<string, { aliases?: string[] } | null>;
  depends_on?: Record<string, Record<string, unknown>> | string[];
  healthcheck?: Record<string, unknown>;
  stop_grace_period?: string;
  profiles?: string[];
}

interface ComposeFile {
  version: string;
  services: Record<string, ComposeService>;
  [key: string]: unknown;
}

const composeText = readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
// merge: the file shares settings through YAML anchors and `<<` merge keys, as docker-compose resolves them.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

function commandOf(name: string): string[] {
  const command = service(name).command;
  return Array.isArray(command) ? command : (command ?? '').split(/\s+/);
}

function flagValue(command: string[], flag: string): string | undefined {
  const index = command.indexOf(flag);
  return index >= 0 ? command[index + 1] : undefined;
}

function seconds(duration: string | undefined): number {
  const match = /^(\d+)(s|m)$/.exec(duration ?? '');
  if (!match) return 0;
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
}

const SAMPLES = { 'hello-http': 'http', 'echo-http': 'http', 'greeter-grpc': 'grpc' } as const;

describe('docker-compose.yml', () => {
  it('starts etcd, two etcd-xds replicas, envoy and the three sample services', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['etcd', 'etcd-xds-1', 'etcd-xds-2', 'envoy', 'hello-http', 'echo-http', 'greeter-grpc']),
    );
  });

  it('uses only keys docker-compose 1.29 accepts', () => {
    expect(compose.version).toBe('3.8');
    expect(compose).not.toHaveProperty('name');
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.healthcheck ?? {}, name).not.toHaveProperty('start_interval');
      if (svc.depends_on && !Array.isArray(svc.depends_on)) {
        for (const condition of Object.values(svc.depends_on)) expect(condition, name).not.toHaveProperty('required');
      }
    }
  });

  it('pins every image to an explicit tag other than latest', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.image, `${name} has an image`).toBeDefined();
      const tag = /:([^/:]+)$/.exec(svc.image!)?.[1];
      expect(tag, `${name} image ${svc.image} has a tag`).toBeDefined();
      expect(tag, name).not.toBe('latest');
    }
    expect(service('etcd').image).toBe('quay.io/coreos/etcd:v3.5.17');
    expect(service('envoy').image).toMatch(/^envoyproxy\/envoy:v1\.\d+\.\d+$/);
  });

  it('runs a single etcd node reachable as etcd:2379', () => {
    const command = commandOf('etcd');
    expect(command).toContain('--listen-client-urls=http://0.0.0.0:2379');
    expect(command).toContain('--advertise-client-urls=http://etcd:2379');
  });

  it('builds etcd-xds from the Dockerfile and runs both replicas under the alias etcd-xds', () => {
    for (const name of ['etcd-xds-1', 'etcd-xds-2']) {
      const svc = service(name);
      expect(svc.build).toMatchObject({ context: '.', dockerfile: 'Dockerfile' });
      expect(svc.environment?.['ETCD_ENDPOINTS']).toBe('http://etcd:2379');
      expect(svc.networks?.['default']?.aliases).toContain('etcd-xds');
      const command = commandOf(name);
      expect(command[0]).toBe('serve');
      expect(flagValue(command, '--admin-address')).toBe('0.0.0.0:19000');
      expect(flagValue(command, '--admin-token')).toBe('${ADMIN_TOKEN:-demo-token}');
    }
    expect(service('etcd-xds-1').ports).toEqual(expect.arrayContaining(['18000:18000', '19000:19000']));
  });

  it('runs envoy with envoy/front-proxy.yaml mounted, on ports 10000 and 9901', () => {
    const envoy = service('envoy');
    expect(envoy.ports).toEqual(expect.arrayContaining(['10000:10000', '9901:9901']));
    const mount = envoy.volumes?.find((volume) => volume.includes('/etc/envoy/envoy.yaml'));
    expect(mount).toBeDefined();
    const source = path.resolve(repoRoot, mount!.split(':')[0]!);
    expect(source).toBe(path.join(repoRoot, 'envoy/front-proxy.yaml'));
    expect(existsSync(source)).toBe(true);
    expect(validateEnvoyYaml(readFileSync(source, 'utf8'))).toEqual([]);
    expect(commandOf('envoy')).toEqual(expect.arrayContaining(['-c', '/etc/envoy/envoy.yaml']));
  });

  it("aims envoy's bootstrap at the replicas' alias and xDS port, with nothing static but that cluster", () => {
    const bootstrap = parse(readFileSync(path.join(repoRoot, 'envoy/front-proxy.yaml'), 'utf8')) as {
      static_resources: { listeners?: unknown[]; clusters: { load_assignment: { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[] }[] } }[] };
    };
    expect(bootstrap.static_resources.listeners).toBeUndefined();
    expect(bootstrap.static_resources.clusters).toHaveLength(1);
    const socket = bootstrap.static_resources.clusters[0]!.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
    for (const name of ['etcd-xds-1', 'etcd-xds-2']) {
      expect(service(name).networks?.['default']?.aliases).toContain(socket.address);
      expect(flagValue(commandOf(name), '--xds-address')).toBe(`0.0.0.0:${socket.port_value}`);
    }
  });

  it('addresses requests through envoy by Host, naming a sample service (the comments and the traffic loop)', () => {
    const curls = [...composeText.matchAll(/curl [^\n"]*?-H 'Host: ([^']+)' (?:http:\/\/)?(localhost|envoy):10000\//g)];
    expect(curls.map((m) => m[2])).toEqual(expect.arrayContaining(['localhost', 'envoy']));
    for (const [, host] of curls) expect(Object.keys(SAMPLES)).toContain(host);
    // No path routing is left: a request without a Host header names no service.
    expect(composeText).not.toMatch(/10000\/(hello|echo)/);
    const traffic = service('traffic');
    expect(traffic.profiles).toEqual(['traffic']);
    expect(String(traffic.command)).toMatch(/-H 'Host: hello-http' http:\/\/envoy:10000\//);
  });

  it('starts each sample backend from the etcd-xds image under its own service name, with time to drain', () => {
    for (const [name, kind] of Object.entries(SAMPLES)) {
      const svc = service(name);
      const command = commandOf(name);
      expect(svc.image).toBe(service('etcd-xds-1').image);
      expect(command[0]).toBe('sample-backend');
      expect(flagValue(command, '--kind')).toBe(kind);
      expect(flagValue(command, '--service')).toBe(name);
      expect(flagValue(command, '--port')).toBe(kind === 'grpc' ? '50051' : '8080');
      expect(svc.environment?.['ETCD_ENDPOINTS']).toBe('http://etcd:2379');
      expect(seconds(svc.stop_grace_period)).toBeGreaterThanOrEqual(15);
      // The image's health check asks the control plane's admin port, which a sample does not open.
      expect(svc.healthcheck).toEqual({ disable: true });
    }
  });

  // CI machines may not have it; the check then shows as skipped with this reason.
  const composeBinary = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
  const skipReason = composeBinary ? '' : ' [skipped: docker-compose is not on PATH; apt-get install -y --no-install-recommends docker-compose]';
  if (!composeBinary) console.warn(`docker-compose.yml:${skipReason}`);
  it.skipIf(!composeBinary)(`passes docker-compose config -q${skipReason}`, async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: repoRoot, timeout: 60_000 }, (err, _out, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
      );
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

// Without a Docker engine, the nearest thing to `docker-compose up`: the control plane over a real etcd holding the
// sample services, and a raw ADS client presenting the front proxy's node as Envoy does (user_agent_name "envoy").
describe("docker-compose's Envoy, served from its bootstrap alone", () => {
  const fx = useXdsFixture('10.0.0.7', Object.entries(SAMPLES).map(([name, kind], i): [string, string, number] => [name, `${name}-${i}`, kind === 'grpc' ? 50051 : 8080]));
  const bootstrapNode = (parse(readFileSync(path.join(repoRoot, 'envoy/front-proxy.yaml'), 'utf8')) as { node: { id: string; cluster: string } }).node;

  /** Reads responses until one of `typeUrl` arrives, ACKing everything on the way. */
  async function until(stream: AdsTestStream, typeUrl: string): Promise<ReceivedResponse> {
    for (;;) {
      const response = await stream.next(10_000);
      const named = response.typeUrl === TYPE_URL.endpoint || response.typeUrl === TYPE_URL.route;
      stream.send({ type_url: response.typeUrl, resource_names: named ? response.resources.map((r) => r.name) : [], response_nonce: response.nonce, version_info: response.version });
      if (response.typeUrl === typeUrl) return response;
    }
  }

  it("gets a listener on the port compose publishes and a virtual host for each Host the demo's requests name", async () => {
    const stream = fx.open('sotw');
    stream.send({ node: { ...bootstrapNode, locality: {}, user_agent_name: 'envoy' }, type_url: TYPE_URL.cluster, resource_names: [] });
    const clusters = await until(stream, TYPE_URL.cluster);
    expect(clusters.resources.map((r) => r.name).sort()).toEqual(Object.keys(SAMPLES).sort());
    stream.send({ type_url: TYPE_URL.listener, resource_names: [] });
    const listeners = await until(stream, TYPE_URL.listener);
    const published = service('envoy').ports!.map((p) => Number(p.split(':')[1]));
    const port = (listeners.resources[0]!.message as { address: { socket_address: { port_value: number } } }).address.socket_address.port_value;
    expect(listeners.resources.map((r) => r.name)).toEqual([`etcd-xds/http-${port}`]);
    expect(published).toContain(port);
    stream.send({ type_url: TYPE_URL.route, resource_names: ['etcd-xds/services'] });
    const routes = await until(stream, TYPE_URL.route);
    const hosts = (routes.resources[0]!.message as { virtual_hosts: { domains: string[]; routes: { route: { cluster: string } }[] }[] }).virtual_hosts;
    const askedFor = [...composeText.matchAll(/-H 'Host: ([^']+)'/g)].map((m) => m[1]!);
    expect(askedFor.length).toBeGreaterThan(0);
    for (const host of askedFor) {
      const vhost = hosts.find((h) => h.domains.includes(host));
      expect(vhost, `a virtual host for Host: ${host}`).toBeDefined();
      expect(vhost!.domains).toContain(`${host}:*`);
      expect(vhost!.routes.at(-1)!.route.cluster).toBe(host);
    }
  });
});

describe('Dockerfile', () => {
  const fromLines = dockerfile.split('\n').filter((line) => line.startsWith('FROM '));
  const runtimeStart = dockerfile.indexOf(`\n${fromLines[1]}\n`);

  it('builds in one node:20-bookworm-slim stage and runs in another', () => {
    expect(fromLines).toEqual(['FROM node:20-bookworm-slim AS build', 'FROM node:20-bookworm-slim']);
    expect(runtimeStart).toBeGreaterThan(0);
    const buildStage = dockerfile.slice(0, runtimeStart);
    for (const step of ['npm ci', 'npm run build', 'npm prune --omit=dev']) expect(buildStage).toContain(step);
  });

  it('copies what the runtime needs, and the build context provides it', () => {
    const runtime = dockerfile.slice(runtimeStart);
    for (const dir of ['dist', 'bin', 'proto', 'node_modules', 'package.json']) {
      expect(runtime).toMatch(new RegExp(`COPY --from=build /app/${dir} `));
    }
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const source of copied) {
      expect(existsSync(path.join(repoRoot, source)), `${source} exists`).toBe(true);
      expect(ignored, `${source} is not excluded by .dockerignore`).not.toContain(source);
    }
  });

  it('runs as a non-root user, exposes the xDS and admin ports, and serves by default', () => {
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(dockerfile).toMatch(/^EXPOSE 18000 19000$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/etcd-xds\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["serve"\]$/m);
  });

  it('has a node health check that passes on /readyz 200 and fails otherwise', async () => {
    const healthcheck = /^HEALTHCHECK .*\\\n\s*CMD (\[.*\])$/m.exec(dockerfile);
    expect(healthcheck).not.toBeNull();
    const argv = JSON.parse(healthcheck![1]!) as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    const script = argv[2]!;
    expect(script).toContain('http://127.0.0.1:19000/readyz');

    let ready = false;
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(ready ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const probe = (): Promise<number> =>
      new Promise((resolve) => {
        execFile(process.execPath, ['-e', script.replace(':19000/', `:${port}/`)], { timeout: 10_000 }, (err) =>
          resolve(err ? Number(err.code ?? 1) : 0),
        );
      });
    try {
      expect(await probe()).toBe(1);
      ready = true;
      expect(await probe()).toBe(0);
    } finally {
      server.close();
    }
    expect(paths).toEqual(['/readyz', '/readyz']);
  });
});
