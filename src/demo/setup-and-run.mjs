// `npm run demo` on a fresh clone: says in one line what is missing (node_modules, etcd), builds the project
// (generate + compile), then runs `etcd-xds demo` with the flags given after `--`. Plain JavaScript without
// dependencies, because it must run before `npm ci` and before the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);

function fail(line) {
  process.stderr.write(`etcd-xds demo: ${line}\n`);
  process.exit(1);
}

/** The value of `--flag value` or `--flag=value` among the demo's arguments. */
function flagValue(name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

async function etcdAnswers(endpoints) {
  const answers = await Promise.all(
    endpoints.map(async (endpoint) => {
      try {
        const response = await fetch(`${endpoint.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(1_500) });
        await response.body?.cancel().catch(() => {});
        return response.ok;
      } catch {
        return false;
      }
    }),
  );
  return answers.includes(true);
}

// 1. Dependencies: without them the build fails with "proto-loader-gen-types: not found".
const needed = ['node_modules/.bin/proto-loader-gen-types', 'node_modules/.bin/tsc', 'node_modules/commander/package.json'];
if (needed.some((file) => !existsSync(path.join(ROOT, file)))) {
  fail(`node_modules is missing or incomplete in ${ROOT}: run npm ci first`);
}

// 2. etcd: one that answers, or the binary to start one (the demo repeats this check with the same advice).
const endpoints = (flagValue('--etcd-endpoints') ?? process.env.ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379')
  .split(',')
  .map((e) => e.trim())
  .filter(Boolean);
const binary = flagValue('--etcd-binary') ?? 'etcd';
const hasBinary = spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasBinary && !(await etcdAnswers(endpoints))) {
  fail(
    `no etcd answers at ${endpoints.join(', ')} and there is no etcd binary ('${binary}') to start one: ` +
      `apt-get install -y etcd-server (Debian/Ubuntu), or pass -- --etcd-endpoints URL of a running etcd`,
  );
}

// 3. Build: generated Envoy types, then the compiled CLI.
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const build = spawnSync(npm, ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0) fail(`the build failed (npm run build exited ${build.status ?? build.signal}); see above`);

// 4. The demo itself, in this process, as `node bin/etcd-xds.js demo ...`.
process.argv = [process.argv[0], path.join(ROOT, 'bin/etcd-xds.js'), 'demo', ...args];
await import(pathToFileURL(path.join(ROOT, 'dist/cli/main.js')).href);
