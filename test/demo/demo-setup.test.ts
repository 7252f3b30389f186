// `npm run demo` on a fresh clone: what is missing is said in one line, before any build, instead of a stack trace.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/etcd.js';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/demo/setup-and-run.mjs');

function run(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [script, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    ),
  );
}

describe('npm run demo set-up checks', () => {
  let fresh: string;

  beforeAll(() => {
    // A clone before `npm ci`: the script and package.json, no node_modules.
    fresh = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-fresh-clone-'));
    mkdirSync(path.join(fresh, 'src/demo'), { recursive: true });
    copyFileSync(SCRIPT, path.join(fresh, 'src/demo/setup-and-run.mjs'));
    writeFileSync(path.join(fresh, 'package.json'), '{"type":"module"}\n');
  });
  afterAll(() => rmSync(fresh, { recursive: true, force: true }));

  it('without node_modules: one line saying to run npm ci first', async () => {
    const result = await run(path.join(fresh, 'src/demo/setup-and-run.mjs'), []);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^etcd-xds demo: node_modules is missing .*: run npm ci first$/)]);
  });

  it('without etcd (none answers, no binary): one line naming apt-get install -y etcd-server, before building', async () => {
    const unused = `http://127.0.0.1:${await freePort()}`;
    const result = await run(SCRIPT, ['--etcd-endpoints', unused, '--etcd-binary', '/nonexistent/etcd']);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`no etcd answers at ${unused}`);
    expect(lines[0]).toContain('apt-get install -y etcd-server');
    expect(result.stdout).toBe('');
  });
});
