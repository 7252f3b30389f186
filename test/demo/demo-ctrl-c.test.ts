// Ctrl-C at a terminal sends SIGINT to the whole foreground process group. The demo runs here as the leader of its
// own group, as a shell runs it, and the signal goes to the group: the demo's own etcd must not die with it, so the
// backends are marked draining and deleted (the control plane sees both), and etcd stops last.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdAnswers } from '../../src/demo/local-etcd.js';
import { CLI_ENTRY } from '../support/cli.js';
import { freePort } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

describe('etcd-xds demo and Ctrl-C', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-demo-sigint-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGINT to the process group drains and deregisters every backend, then stops its etcd last, and exits 0', async () => {
    const logFile = path.join(dir, 'demo.log');
    const unused = `http://127.0.0.1:${await freePort()}`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI_ENTRY, 'demo', '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0',
        '--etcd-endpoints', unused, '--drain-seconds', '1', '--rate', '20', '--log-file', logFile],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ETCD_ENDPOINTS: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const context = (): string => `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
    try {
      // Running the story: every backend answered at least once.
      await eventually(async () => stdout, (out) => /calls\/s: greeter-1 \S+\s+[1-9]/.test(out) && out.includes('timeline:'), 'the demo running', 40_000);
      const etcdUrl = /etcd\s+(http:\/\/127\.0\.0\.1:\d+) \(etcd \S+ started here/.exec(stdout)?.[1];
      expect(etcdUrl, context()).toBeDefined();

      process.kill(-child.pid!, 'SIGINT'); // the whole group, as a terminal does
      expect(await exited, context()).toBe(0);

      const out = stdout;
      // The control plane saw each backend go draining, then leave etcd: both writes reached etcd.
      for (const id of ['greeter-1', 'greeter-2', 'greeter-3']) {
        expect(out, context()).toContain(`etcd: ${id} serving → draining`);
        expect(out, context()).toContain(`etcd: ${id} removed from etcd`);
      }
      const order = ['client closed', 'backends drained, deregistered and stopped; none of their keys is left in etcd', 'control plane closed', 'etcd stopped (last'];
      const positions = order.map((line) => out.indexOf(line));
      expect(positions.every((p) => p >= 0), context()).toBe(true);
      expect([...positions].sort((a, b) => a - b), context()).toEqual(positions);
      expect(readFileSync(logFile, 'utf8')).not.toContain('could not mark the instance draining');
      expect(await etcdAnswers([etcdUrl!], 500)).toBe(false);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
