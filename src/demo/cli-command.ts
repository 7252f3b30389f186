// The etcd-xds CLI as the demo runs it in front of the user: the same program this process is (node, its loader
// flags, the same entry script), so `npm run demo`, an installed `etcd-xds demo` and the tests each run their own
// build of the command they show.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { shellLine } from '../cli/shell-words.js';
import { terminalSafe } from '../cli/terminal-text.js';

export interface CliCommand {
  /** How a person types it from the current directory: `etcd-xds`, or `node bin/etcd-xds.js`. */
  display: string;
  /** What is spawned: the node binary and the arguments that come before the CLI's own. */
  argv: readonly string[];
}

export interface CliRun {
  /** Exit code; null when it was ended by a signal or did not start. */
  code: number | null;
  /** stdout then stderr, cut to a bounded length, safe for a terminal. */
  output: string;
}

/** Output kept from one run: a few lines are expected, a runaway command must not fill memory. */
const MAX_OUTPUT = 16 * 1024;

/** A file as a user in the current directory would name it: relative when it lies below, else as it is. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** This process's own CLI. Debugger flags are left out: a child would try to take the same inspector port. */
export function thisCli(): CliCommand {
  const script = process.argv[1] ?? path.resolve(import.meta.dirname, '../../bin/etcd-xds.js');
  const flags = process.execArgv.filter((flag) => !flag.startsWith('--inspect'));
  const argv = [process.execPath, ...flags, script];
  if (path.basename(script) === 'etcd-xds') return { display: 'etcd-xds', argv };
  return { display: ['node', ...flags, displayPath(script)].join(' '), argv };
}

/** `display` and the arguments, as the line a person would type. */
export function commandLine(cli: CliCommand, args: readonly string[]): string {
  return args.length === 0 ? cli.display : `${cli.display} ${shellLine(args)}`;
}

/** Runs `etcd-xds <args>` to its end (killed after timeoutMs). The environment is the demo's, minus what `args` set. */
export function runCli(cli: CliCommand, args: readonly string[], timeoutMs = 30_000): Promise<CliRun> {
  const [binary, ...before] = cli.argv;
  const env = { ...process.env };
  // The command line says everything; an inherited variable must not change what it does.
  for (const name of ['ETCD_ENDPOINTS', 'XDS_PREFIX', 'XDS_CONFIG_PREFIX']) delete env[name];
  return new Promise((resolve) => {
    let settled = false;
    const child = spawn(binary!, [...before, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const chunks: { stdout: string; stderr: string } = { stdout: '', stderr: '' };
    const keep = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      if (chunks[stream].length < MAX_OUTPUT) chunks[stream] += data.toString('utf8').slice(0, MAX_OUTPUT - chunks[stream].length);
    };
    child.stdout.on('data', keep('stdout'));
    child.stderr.on('data', keep('stderr'));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const finish = (code: number | null, problem?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text = `${chunks.stdout}${chunks.stderr}${problem ?? ''}`.trimEnd();
      resolve({ code, output: text.split('\n').map(terminalSafe).join('\n') });
    };
    child.once('error', (err) => finish(null, `could not run ${binary}: ${err.message}`));
    child.once('close', (code) => finish(code));
  });
}
