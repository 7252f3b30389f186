// `etcd-xds validate-envoy` as a user runs it: a child process, its output and its exit code.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../support/cli.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const entry = CLI_ENTRY;
const workDir = mkdtempSync(path.join(os.tmpdir(), 'validate-envoy-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', entry, 'validate-envoy', ...args], { cwd: repoRoot, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function writeTemp(name: string, text: string): string {
  const file = path.join(workDir, name);
  writeFileSync(file, text);
  return file;
}

describe('etcd-xds validate-envoy', () => {
  it('prints "FILE: ok" for each valid file and exits 0', async () => {
    const run = await runCli('envoy/front-proxy.yaml', 'envoy/sidecar-eds.yaml');
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('envoy/front-proxy.yaml: ok\nenvoy/sidecar-eds.yaml: ok\n');
    expect(run.code).toBe(0);
  });

  it('prints each error with file, line and path, and exits 1', async () => {
    const valid = readFileSync(path.join(repoRoot, 'envoy/front-proxy.yaml'), 'utf8');
    const broken = valid.replace('port_value: 9901', 'port_value: 99010').replace('connect_timeout: 1s', 'connect_timeout: 1 second');
    expect(broken).not.toBe(valid);
    const file = writeTemp('broken.yaml', broken);
    const brokenLines = broken.split('\n');
    const portLine = brokenLines.findIndex((line) => line.includes('99010')) + 1;
    const timeoutLine = brokenLines.findIndex((line) => line.includes('1 second')) + 1;
    const run = await runCli(file, 'envoy/sidecar-eds.yaml');
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n').filter(Boolean)).toEqual([
      `${file}:${portLine}: admin.address.socket_address.port_value: value must be less than or equal to 65535`,
      `${file}:${timeoutLine}: static_resources.clusters[0].connect_timeout: expected a duration like "1.5s", got "1 second"`,
      'envoy/sidecar-eds.yaml: ok',
    ]);
  });

  it('validates other message types with --type', async () => {
    const file = writeTemp('cla.yaml', 'cluster_name: hello-http\nendpoints: [{ lb_endpoints: [] }]\n');
    const [asAssignment, asBootstrap] = await Promise.all([
      runCli('--type', 'envoy.config.endpoint.v3.ClusterLoadAssignment', file),
      runCli(file),
    ]);
    expect(asAssignment).toMatchObject({ code: 0, stdout: `${file}: ok\n` });
    expect(asBootstrap.code).toBe(1);
    expect(asBootstrap.stdout).toContain('cluster_name: unknown field "cluster_name" in envoy.config.bootstrap.v3.Bootstrap');
  });

  it('reports a file it cannot get through (an alias bomb) as invalid and still checks the others', async () => {
    // Each level multiplies the previous by 9: expanding it would build millions of nodes.
    const levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (const name of ['b', 'c', 'd', 'e', 'f', 'g']) {
      const previous = String.fromCharCode(name.charCodeAt(0) - 1);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    }
    const bomb = writeTemp('bomb.yaml', `${levels.join('\n')}\n`);
    const buckets = writeTemp(
      'buckets.yaml',
      'stats_config: { histogram_bucket_settings: [ { match: { prefix: cluster. }, buckets: [0.5, 1, 5, 10, 25, 100] } ] }\n',
    );
    const run = await runCli(bomb, buckets, 'envoy/front-proxy.yaml');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n').filter(Boolean)).toEqual([
      `${bomb}: YAML error: Excessive alias count indicates a resource exhaustion attack`,
      `${buckets}: ok`,
      'envoy/front-proxy.yaml: ok',
    ]);
  });

  it('validates an extension type given with --type', async () => {
    const file = writeTemp('tcp-proxy.yaml', 'stat_prefix: db\ncluster: database\nidle_timeout: 300s\n');
    const run = await runCli('--type', 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', file);
    expect(run).toMatchObject({ code: 0, stdout: `${file}: ok\n`, stderr: '' });
  });

  it('exits 2 on usage errors: no file, unreadable file, unknown --type', async () => {
    const [noFile, missing, badType] = await Promise.all([
      runCli(),
      runCli(path.join(workDir, 'absent.yaml')),
      runCli('--type', 'envoy.nothing.v3.Nope', 'envoy/front-proxy.yaml'),
    ]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain("missing required argument 'files'");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('unknown message type "envoy.nothing.v3.Nope"');
  });
});
