// `etcd-xds register` for the person who runs it: lines saying what happened (registered, draining, deregistered)
// beside the JSON log, no "deregistered" when nothing was registered, and a loopback-only service found at once.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectAddress } from '../../src/registration/address.js';
import { startCli } from '../support/cli-process.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

function hasNonLoopbackIpv4(): boolean {
  try {
    detectAddress({});
    return true;
  } catch {
    return false;
  }
}

describe('etcd-xds register, as a person sees it', () => {
  let etcd: TestEtcd;
  let server: net.Server;
  let port: number;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    server = net.createServer((socket) => socket.end());
    // Loopback only: what a service started with its default "localhost" bind looks like.
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    server?.close();
    await etcd?.close();
  });

  it('prints registered, draining and deregistered lines, and exits 0', async () => {
    const cli = startCli([
      'register', '--service', 'lines', '--instance-id', 'i1', '--port', String(port), '--address', '127.0.0.1',
      '--drain-seconds', '0.2', '--etcd-endpoints', etcd.endpoint, '--log-level', 'warn',
    ]);
    try {
      await eventually(async () => cli.output(), (out) => /registered \/services\/lines\/i1 \(127\.0\.0\.1:\d+\) under lease \d+/.test(out), 'the registered line');
      cli.child.kill('SIGTERM');
      expect(await cli.exited, cli.output()).toEqual({ code: 0, signal: null });
      expect(cli.output()).toContain('draining: listed as draining for 0.2 s, then deregistered');
      expect(cli.output()).toContain('deregistered /services/lines/i1 (key deleted, lease revoked)');
    } finally {
      if (cli.running()) cli.child.kill('SIGKILL');
    }
  });

  it('stopped before it ever registered, it says so and never claims a deregistration', async () => {
    const cli = startCli([
      'register', '--service', 'never', '--instance-id', 'i1', '--port', String(port), '--address', '127.0.0.1',
      '--no-wait-for-port', '--etcd-endpoints', 'http://127.0.0.1:1',
    ]);
    try {
      await eventually(async () => cli.output(), (out) => out.includes('registration attempt failed; retrying'), 'a failed attempt');
      cli.child.kill('SIGTERM');
      expect(await cli.exited, cli.output()).toEqual({ code: 0, signal: null });
      expect(cli.output()).toContain('stopped before the instance was registered: nothing to deregister');
      expect(cli.output()).not.toMatch(/"msg":"deregistered"|^deregistered/m);
    } finally {
      if (cli.running()) cli.child.kill('SIGKILL');
    }
  });

  it.skipIf(!hasNonLoopbackIpv4())('with --address auto, a port that answers on loopback only fails at once and suggests --address 127.0.0.1', async () => {
    const cli = startCli(['register', '--service', 'local', '--port', String(port), '--etcd-endpoints', etcd.endpoint]);
    const { code } = await cli.exited;
    expect(code, cli.output()).toBe(1);
    expect(cli.output()).toMatch(new RegExp(`port ${port} answers on 127\\.0\\.0\\.1 but not on \\S+ \\(the detected address\\)`));
    expect(cli.output()).toContain('--address 127.0.0.1');
    // Found by the probe, not by the 30 s port wait running out.
    expect(cli.output()).not.toContain('did not accept connections within');
  });
});
