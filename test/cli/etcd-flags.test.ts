// The shared etcd flags: the password from a file or the environment instead of the command line (where every local
// user reads it), and endpoints and prefixes checked before anything starts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEtcdOptions, endpointList, keyPrefix, loadEtcdSecrets, type EtcdFlags } from '../../src/cli/etcd-flags.js';

function parsed(args: string[], env: Record<string, string> = {}): { command: Command; warnings: string[]; problem: string | undefined } {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const command = addEtcdOptions(new Command('x').exitOverride()).action(() => {});
    command.parse(args, { from: 'user' });
    const warnings: string[] = [];
    const problem = loadEtcdSecrets(command, (line) => warnings.push(line));
    return { command, warnings, problem };
  } finally {
    process.env = saved;
  }
}

describe('etcd flags', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-flags-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the password from --etcd-password-file, without a warning', () => {
    const file = path.join(dir, 'pw');
    writeFileSync(file, 'hunter2\n');
    const { command, warnings, problem } = parsed(['--etcd-username', 'root', '--etcd-password-file', file]);
    expect(problem).toBeUndefined();
    expect(command.opts<EtcdFlags>().etcdPassword).toBe('hunter2');
    expect(warnings).toEqual([]);
  });

  it('takes ETCD_PASSWORD silently, and warns when the password is on the command line', () => {
    expect(parsed(['--etcd-username', 'root'], { ETCD_PASSWORD: 'env-secret' }).command.opts<EtcdFlags>().etcdPassword).toBe('env-secret');
    expect(parsed(['--etcd-username', 'root'], { ETCD_PASSWORD: 'env-secret' }).warnings).toEqual([]);
    const { warnings } = parsed(['--etcd-username', 'root', '--etcd-password', 'visible']);
    expect(warnings).toEqual([expect.stringContaining('--etcd-password on the command line is visible to every user of this host')]);
  });

  it('names the file when it cannot be read or is not one line', () => {
    expect(parsed(['--etcd-password-file', path.join(dir, 'missing')]).problem).toMatch(/--etcd-password-file: cannot read/);
    const twoLines = path.join(dir, 'two');
    writeFileSync(twoLines, 'a\nb\n');
    expect(parsed(['--etcd-password-file', twoLines]).problem).toMatch(/must hold the secret on one line/);
  });

  it('accepts http(s) endpoint URLs and normalises prefixes; refuses the rest with a reason', () => {
    expect(endpointList('http://127.0.0.1:2379, https://etcd-0.example:2379')).toEqual(['http://127.0.0.1:2379', 'https://etcd-0.example:2379']);
    expect(() => endpointList('127.0.0.1:2379')).toThrow(/is not a URL/);
    expect(() => endpointList('grpc://etcd:2379')).toThrow(/must start with http:\/\/ or https:\/\//);
    expect(() => endpointList('http://etcd:2379/v3?x=1')).toThrow(/only scheme, host and port/);
    expect(keyPrefix('/services')).toBe('/services/');
    expect(keyPrefix('/services/')).toBe('/services/');
    expect(() => keyPrefix('/ser vices/')).toThrow(/no spaces or control characters/);
    expect(() => keyPrefix('/a\u001b[2K/')).toThrow(/no spaces or control characters/);
  });
});
