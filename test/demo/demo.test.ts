// `etcd-xds demo --duration N` as a real child process: its per-second lines show the calls spread over three
// backends, then over two after one drains, then over one after another is killed; it exits 0 and leaves nothing
// registered. Also the path where no etcd answers and the demo starts its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpreadLine } from '../../src/demo/call-tally.js';
import { etcdAnswers } from '../../src/demo/local-etcd.js';
import { eventually } from '../support/eventually.js';
import { freePort, startTestEtcd, type TestEtcd } from '../support/etcd.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts');

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo to its end; kills it (and fails) after `limitMs`. */
function runDemo(args: string[], limitMs: number): Promise<DemoRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ETCD_ENDPOINTS: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo still running after ${limitMs} ms; output:\n${stdout}\n${stderr}`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Instances with at least one answered call in a per-second line, sorted. */
function answering(line: string): string[] {
  const parsed = parseSpreadLine(line);
  return parsed ? Object.keys(parsed.counts).filter((id) => parsed.counts[id]! > 0).sort() : [];
}

describe('etcd-xds demo', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let logDir: string;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    logDir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-demo-test-'));
  });

  afterAll(async () => {
    client?.close();
    await etcd?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('shows the calls spread over three backends, then two after a drain, then one after a kill, and exits 0', async () => {
    const prefix = '/demo-run/';
    const logFile = path.join(logDir, 'timeline.log');
    const args = ['--duration', '9', '--rate', '40', '--drain-seconds', '1', '--etcd-endpoints', etcd.endpoint, '--prefix', prefix];
    const run = await runDemo([...args, '--log-file', logFile], 45_000);
    const context = `\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
    expect(run.code, context).toBe(0);
    // Meant for pipes and CI logs: no terminal control codes.
    expect(run.stdout).not.toContain('\u001b');
    expect(run.stdout, context).toMatch(/admin http:\/\/127\.0\.0\.1:\d+\//);
    expect(run.stdout, context).toContain('(already running)');
    // The embedded components log to the file, not over the story.
    expect(readFileSync(logFile, 'utf8'), context).toContain('xDS server listening');

    const lines = run.stdout.split('\n');
    const drainAt = lines.findIndex((l) => l.includes('>> draining greeter-3'));
    const killAt = lines.findIndex((l) => l.includes('>> killing greeter-2'));
    expect(drainAt, context).toBeGreaterThan(0);
    expect(killAt, context).toBeGreaterThan(drainAt);

    const spread = (from: number, to?: number) => lines.slice(from, to).filter((l) => parseSpreadLine(l)).map(answering);
    const before = spread(0, drainAt);
    const betweenDrainAndKill = spread(drainAt, killAt);
    const afterKill = spread(killAt);
    expect(before.some((ids) => ids.join() === 'greeter-1,greeter-2,greeter-3'), context).toBe(true);
    expect(betweenDrainAndKill.some((ids) => ids.join() === 'greeter-1,greeter-2'), context).toBe(true);
    expect(afterKill.some((ids) => ids.join() === 'greeter-1'), context).toBe(true);
    // Once drained, greeter-3 never answers again; once killed, neither does greeter-2. The first second after
    // each move may still count a call that was already on its way.
    expect(betweenDrainAndKill.slice(1).every((ids) => !ids.includes('greeter-3')), context).toBe(true);
    expect(afterKill.slice(1).every((ids) => ids.every((id) => id === 'greeter-1')), context).toBe(true);

    // Drained backends deregistered at the end; the killed one's key expires with its lease.
    await eventually(async () => (await client.getAll().prefix(prefix).keys()).length, (n) => n === 0, 'no registrations left', 10_000);
  });

  it('starts its own etcd when none answers at --etcd-endpoints, and stops it on exit', async () => {
    const unused = `http://127.0.0.1:${await freePort()}`;
    const args = ['--duration', '2', '--drain-seconds', '0', '--etcd-endpoints', unused];
    const run = await runDemo([...args, '--log-file', path.join(logDir, 'spawn.log')], 40_000);
    const context = `\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
    expect(run.code, context).toBe(0);
    const spawned = /etcd\s+(http:\/\/127\.0\.0\.1:\d+) \(etcd \S+ started here/.exec(run.stdout);
    expect(spawned, context).not.toBeNull();
    expect(run.stdout, context).toMatch(/calls\/s: greeter-1/);
    expect(run.stdout, context).toContain('etcd stopped (last, after every deregistration), its data dir removed');
    expect(await etcdAnswers([spawned![1]!], 500)).toBe(false);
  });

  it('says how to install etcd when none answers and there is no binary to start', async () => {
    const unused = `http://127.0.0.1:${await freePort()}`;
    const args = ['--duration', '2', '--etcd-endpoints', unused, '--etcd-binary', '/nonexistent/etcd'];
    const run = await runDemo([...args, '--log-file', path.join(logDir, 'no-binary.log')], 20_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('apt-get install -y etcd-server');
  });
});
