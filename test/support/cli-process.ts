// The real `etcd-xds` CLI (src/cli/main.ts through tsx) as a child process, for tests that signal or kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { CLI_ENTRY } from './cli.js';

const REPO_ROOT = path.resolve(path.dirname(CLI_ENTRY), '../..');

export interface CliProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the exit code (null when ended by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until the process has exited. */
  running(): boolean;
}

/** Starts `etcd-xds <args>`. Flags come from `args` only: the env vars the CLI reads are removed. */
export function startCli(args: string[]): CliProcess {
  const env = { ...process.env };
  for (const name of ['ETCD_ENDPOINTS', 'XDS_PREFIX', 'LOG_LEVEL', 'XDS_ADDRESS', 'ADMIN_ADDRESS']) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  return { child, output: () => output, exited: exit, running: () => !exited };
}
