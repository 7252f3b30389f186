// `etcd-xds serve` as users run it: a child process that logs the addresses it bound, serves xDS and the admin API,
// rejects bad flags with exit code 2, and shuts down cleanly on SIGTERM.
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
});
