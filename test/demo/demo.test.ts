// `etcd-xds demo --duration N` as a real child process: its per-second lines show the calls spread over three
// backends, then 90/10 between version v1 and v2 once it has run `etcd-xds config apply -f demo/canary.yaml`, round
// robin again after `config delete`, then over two after one drains, then over one after another is killed; it
// exits 0 and leaves nothing registered and no policy. Also the path where no etcd answers and the demo starts its own.
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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

  it('shows the calls spread over three backends, then the 90/10 canary it applies with the CLI, then two after a drain, then one after a kill, and exits 0', async () => {
    const prefix = '/demo-run/';
    const configPrefix = '/demo-run-config/';
    const logFile = path.join(logDir, 'timeline.log');
    // 200 calls/s: the split's whole seconds (at least three) hold enough calls for 10% to read as 10%.
    const args = ['--duration', '14', '--rate', '200', '--drain-seconds', '1', '--etcd-endpoints', etcd.endpoint, '--prefix', prefix, '--config-prefix', configPrefix];
    const run = await runDemo([...args, '--log-file', logFile], 60_000);
    const context = `\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
    expect(run.code, context).toBe(0);
    // Meant for pipes and CI logs: no terminal control codes.
    expect(run.stdout).not.toContain('\u001b');
    expect(run.stdout, context).toMatch(/admin http:\/\/127\.0\.0\.1:\d+\//);
    expect(run.stdout, context).toContain('(already running)');
    expect(run.stdout, context).toMatch(/greeter-1 \S+ version=v1 · greeter-2 \S+ version=v1 · greeter-3 \S+ version=v2/);
    // The embedded components log to the file, not over the story.
    expect(readFileSync(logFile, 'utf8'), context).toContain('xDS server listening');

    const lines = run.stdout.split('\n');
    const at = (pattern: RegExp): number => lines.findIndex((l) => pattern.test(l));
    const etcdFlags = escapeRegExp(`--etcd-endpoints ${etcd.endpoint} --config-prefix ${configPrefix}`);
    // The commands it ran, as a user types them, and what they printed.
    const applyCommand = at(new RegExp(`\\$ node .*src/cli/main\\.ts config apply -f demo/canary\\.yaml ${etcdFlags}$`));
    const applied = at(new RegExp(`ServicePolicy greeter-grpc: applied \\(${escapeRegExp(configPrefix)}services/greeter-grpc\\)$`));
    const rollback = at(/>> rolling the canary back/);
    const deleteCommand = at(new RegExp(`\\$ node .*src/cli/main\\.ts config delete ServicePolicy greeter-grpc ${etcdFlags}$`));
    const deleted = at(new RegExp(`ServicePolicy greeter-grpc: deleted \\(${escapeRegExp(configPrefix)}services/greeter-grpc\\)$`));
    const drainAt = at(/>> draining greeter-3/);
    const killAt = at(/>> killing greeter-2/);
    const order = [applyCommand, applied, rollback, deleteCommand, deleted, drainAt, killAt];
    expect(order.every((i) => i > 0), context).toBe(true);
    expect([...order].sort((a, b) => a - b), context).toEqual(order);
    // The control plane read both changes from etcd.
    expect(run.stdout, context).toContain('etcd: ServicePolicy greeter-grpc splits 90% version=v1, 10% version=v2');
    expect(run.stdout, context).toContain('etcd: ServicePolicy greeter-grpc deleted');

    const spreadLines = (from: number, to?: number) => lines.slice(from, to).filter((l) => parseSpreadLine(l));
    const spread = (from: number, to?: number) => spreadLines(from, to).map(answering);
    const before = spread(0, applyCommand);
    const betweenDrainAndKill = spread(drainAt, killAt);
    const afterKill = spread(killAt);
    expect(before.some((ids) => ids.join() === 'greeter-1,greeter-2,greeter-3'), context).toBe(true);

    // While the split held (the first line after the apply may still count calls from before it): greeter-3, the
    // only version=v2 instance, answered about 10% of the calls, and both v1 instances the rest.
    const split = spreadLines(applied, rollback).slice(1).map((l) => parseSpreadLine(l)!);
    const calls = (id: string) => split.reduce((sum, line) => sum + (line.counts[id] ?? 0), 0);
    const total = calls('greeter-1') + calls('greeter-2') + calls('greeter-3');
    expect(total, context).toBeGreaterThanOrEqual(300);
    expect(calls('greeter-3') / total, context).toBeGreaterThan(0.05);
    expect(calls('greeter-3') / total, context).toBeLessThan(0.15);
    expect(Math.min(calls('greeter-1'), calls('greeter-2')) / total, context).toBeGreaterThan(0.35);
    expect(split.every((line) => line.errors === 0), context).toBe(true);
    // The demo's own account of those seconds says the same.
    const held = /while the split held \(\d+ s, (\d+) calls\): version=v1 ([\d.]+)%, version=v2 ([\d.]+)%, errors 0/.exec(lines[rollback + 1] ?? '');
    expect(held, context).not.toBeNull();
    expect(Number(held![3])).toBeGreaterThan(5);
    expect(Number(held![3])).toBeLessThan(15);

    expect(betweenDrainAndKill.some((ids) => ids.join() === 'greeter-1,greeter-2'), context).toBe(true);
    expect(afterKill.some((ids) => ids.join() === 'greeter-1'), context).toBe(true);
    // Once drained, greeter-3 never answers again; once killed, neither does greeter-2. The first second after
    // each move may still count a call that was already on its way.
    expect(betweenDrainAndKill.slice(1).every((ids) => !ids.includes('greeter-3')), context).toBe(true);
    expect(afterKill.slice(1).every((ids) => ids.every((id) => id === 'greeter-1')), context).toBe(true);

    // The rollback deleted the policy; drained backends deregistered at the end; the killed one's key expires with
    // its lease.
    expect(await client.getAll().prefix(configPrefix).keys(), context).toEqual([]);
    await eventually(async () => (await client.getAll().prefix(prefix).keys()).length, (n) => n === 0, 'no registrations left', 10_000);
  });

  it('starts its own etcd when none answers at --etcd-endpoints, deletes a canary policy it left there, and stops it on exit', async () => {
    const unused = `http://127.0.0.1:${await freePort()}`;
    // Ends before the rollback: the clean-up deletes the policy, with the command a user would run.
    const args = ['--duration', '4', '--drain-seconds', '0', '--etcd-endpoints', unused];
    const run = await runDemo([...args, '--log-file', path.join(logDir, 'spawn.log')], 40_000);
    const context = `\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
    expect(run.code, context).toBe(0);
    const spawned = /etcd\s+(http:\/\/127\.0\.0\.1:\d+) \(etcd \S+ started here/.exec(run.stdout);
    expect(spawned, context).not.toBeNull();
    expect(run.stdout, context).toMatch(/calls\/s: greeter-1/);
    expect(run.stdout, context).toContain('ServicePolicy greeter-grpc: applied (/etcd-xds/config/services/greeter-grpc)');
    expect(run.stdout, context).not.toContain('>> rolling the canary back');
    const cleanUp = run.stdout.indexOf(`config delete ServicePolicy greeter-grpc --etcd-endpoints ${spawned![1]}\n`);
    expect(cleanUp, context).toBeGreaterThan(run.stdout.indexOf('stopping'));
    expect(run.stdout.slice(cleanUp), context).toContain('ServicePolicy greeter-grpc: deleted (/etcd-xds/config/services/greeter-grpc)');
    expect(run.stdout.slice(cleanUp), context).toContain('the canary policy this demo applied is deleted from etcd');
    expect(run.stdout.indexOf('etcd stopped'), context).toBeGreaterThan(cleanUp);
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
