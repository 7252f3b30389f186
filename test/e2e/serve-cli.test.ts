// `etcd-xds serve` as users run it: a child process that logs the addresses it bound, serves xDS and the admin API,
// rejects bad flags with exit code 2, and shuts down cleanly on SIGTERM.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { startCli } from '../support/cli-process.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

/** Reads the `address` of the first JSON log line with this message. */
function loggedAddress(output: string, msg: string): string | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; address?: string };
    if (entry.msg === msg) return entry.address;
  }
  return undefined;
}

describe('etcd-xds serve', () => {
  let etcd: TestEtcd;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    const client = new Etcd3({ hosts: etcd.endpoint });
    await client.put('/services/served/i1').value('10.1.2.3:8080');
    client.close();
  });
  afterAll(async () => {
    await etcd?.close();
  });

  it('binds free ports, logs them, serves, and exits 0 on SIGTERM, ending streams', async () => {
    const serve = startCli(['serve', '--etcd-endpoints', etcd.endpoint, '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0']);
    try {
      const xds = await eventually(async () => loggedAddress(serve.output(), 'xDS server listening'), Boolean, 'xDS address in the log');
      const admin = await eventually(async () => loggedAddress(serve.output(), 'admin API listening'), Boolean, 'admin address in the log');
      expect((await fetch(`http://${admin}/readyz`)).status).toBe(200);
      const stream = new AdsTestStream(xds!, 'sotw');
      stream.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['served'] });
      expect(JSON.stringify((await stream.next()).resources[0]!.message)).toContain('10.1.2.3');
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toEqual({ code: 0, signal: null });
      await eventually(async () => stream.ended, Boolean, 'the stream ended by the server');
      stream.close();
    } finally {
      if (serve.running()) serve.child.kill('SIGKILL');
    }
  });

  it('waits for an unreachable etcd without serving xDS, and still exits 0 on SIGTERM', async () => {
    const serve = startCli(['serve', '--etcd-endpoints', 'http://127.0.0.1:1', '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0']);
    try {
      const admin = await eventually(async () => loggedAddress(serve.output(), 'admin API listening'), Boolean, 'admin address in the log');
      expect((await fetch(`http://${admin}/readyz`)).status).toBe(503);
      expect(loggedAddress(serve.output(), 'xDS server listening')).toBeUndefined();
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (serve.running()) serve.child.kill('SIGKILL');
    }
  });

  it('rejects bad flags with a clear message and exit code 2', async () => {
    const bad = startCli(['serve', '--xds-address', 'nowhere']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain("option '--xds-address <host:port>' argument 'nowhere' is invalid");
    const unknown = startCli(['serve', '--no-such-flag']);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.output()).toContain("unknown option '--no-such-flag'");
    // Combinations checked before anything starts.
    const cases: Array<[string[], string]> = [
      [['serve', '--admin-address', '0.0.0.0:0'], '--admin-token is required'],
      [['serve', '--etcd-cert', '/tmp/cert.pem'], '--etcd-cert and --etcd-key go together'],
      [['serve', '--xds-tls-client-ca', '/tmp/ca.pem'], '--xds-tls-client-ca needs --xds-tls-cert'],
      [[], 'Usage: etcd-xds'],
    ];
    for (const [args, message] of cases) {
      const run = startCli(args);
      expect((await run.exited).code, args.join(' ')).toBe(2);
      expect(run.output()).toContain(message);
    }
  });

  it('reports an xDS port already in use at once, in plain words, without waiting for etcd', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(taken.address() as net.AddressInfo).port}`;
    try {
      // etcd is unreachable: before the check, serve waited for it and only then failed to bind.
      const serve = startCli(['serve', '--etcd-endpoints', 'http://127.0.0.1:1', '--xds-address', address, '--admin-address', '127.0.0.1:0']);
      expect((await serve.exited).code, serve.output()).toBe(1);
      expect(serve.output()).toContain(`xDS address ${address} is already in use`);
    } finally {
      taken.close();
    }
  });

  it('rejects bad etcd endpoints and prefixes at start with exit code 2', async () => {
    const cases: Array<[string[], string]> = [
      [['serve', '--etcd-endpoints', '127.0.0.1:2379'], "'127.0.0.1:2379' is not a URL: expected http://HOST:PORT"],
      [['serve', '--etcd-endpoints', 'localhost:2379'], 'must start with http:// or https://'],
      [['serve', '--etcd-endpoints', 'http://127.0.0.1:2379/v3'], 'must be only scheme, host and port'],
      [['serve', '--prefix', 'has space/'], 'a key prefix has no spaces or control characters'],
      [['serve', '--prefix', ''], 'expected a key prefix'],
    ];
    const runs = await Promise.all(cases.map(([args]) => startCli(args)).map(async (run) => ({ code: (await run.exited).code, output: run.output() })));
    runs.forEach((run, i) => {
      expect(run.code, run.output).toBe(2);
      expect(run.output).toContain(cases[i]![1]);
    });
  });

  it('reads the admin token from a file (no secret on the command line) and warns when one is given there', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-serve-secret-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 's3cret-token\n');
    const serve = startCli(['serve', '--etcd-endpoints', etcd.endpoint, '--xds-address', '127.0.0.1:0', '--admin-address', '0.0.0.0:0', '--admin-token-file', tokenFile]);
    try {
      const admin = await eventually(async () => loggedAddress(serve.output(), 'admin API listening'), Boolean, 'admin address in the log');
      const port = admin!.slice(admin!.lastIndexOf(':') + 1);
      expect((await fetch(`http://127.0.0.1:${port}/debug/services`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/debug/services`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
      expect(serve.output()).not.toContain('on the command line is visible');
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
      rmSync(dir, { recursive: true, force: true });
    }
    const onCommandLine = startCli(['serve', '--etcd-endpoints', 'http://127.0.0.1:1', '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0', '--admin-token', 'visible']);
    await eventually(async () => onCommandLine.output(), (out) => out.includes('admin API listening'), 'serve started');
    expect(onCommandLine.output()).toContain('warning: --admin-token on the command line is visible to every user of this host');
    onCommandLine.child.kill('SIGTERM');
    await onCommandLine.exited;
    const missing = startCli(['serve', '--admin-token-file', '/nonexistent/token']);
    expect((await missing.exited).code).toBe(2);
    expect(missing.output()).toContain('--admin-token-file: cannot read /nonexistent/token');
  });

  it('logs readable lines with --log-format pretty', async () => {
    const serve = startCli(['serve', '--etcd-endpoints', 'http://127.0.0.1:1', '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0', '--log-format', 'pretty']);
    try {
      const output = await eventually(async () => serve.output(), (out) => out.includes('admin API listening'), 'the admin line');
      const line = output.split('\n').find((l) => l.includes('admin API listening'))!;
      expect(line.startsWith('{')).toBe(false);
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: admin API listening/);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});
