#!/usr/bin/env node
// CI check: the production dependency closure stays small and needs no native build step.
//
// It walks package-lock.json (lockfile v2/v3) from the root package's dependencies, optionalDependencies and
// required peerDependencies, resolving each name the way Node does (nearest node_modules up the tree), and fails when
//   - the closure holds more than PRODUCTION_PACKAGE_BUDGET packages, or
//   - a package in it needs a native build: a binding.gyp / `gypfile`, or an install script that runs node-gyp,
//     prebuild(-install), node-pre-gyp or cmake-js. Install scripts are read from node_modules (run after `npm ci`);
//     plain-JavaScript install scripts (protobufjs prints a version notice) are listed but allowed.
// No registry is asked (no `npm audit`): the audit endpoint does not answer from the CI machines.
//
// Budget: 109 packages at the time of writing (grpc-js, grpc-js-xds, etcd3, pino with pino-pretty, prom-client,
// protobufjs, zod, ...). Raise it only with a reason in the commit that adds the dependency.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PRODUCTION_PACKAGE_BUDGET = 120;
const NATIVE_BUILD = /\b(node-gyp|prebuild(-install)?|node-pre-gyp|cmake-js)\b/;
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

// The project directory: this script's parent, or the directory given as the first argument.
const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
if (!lock.packages) {
  console.error('check-deps: package-lock.json has no "packages" map (lockfile v1?): regenerate it with npm 7 or later');
  process.exit(1);
}
const packages = lock.packages;

/** Node's lookup: `<from>/node_modules/<name>`, then the same from each enclosing package, up to the root. */
function resolve(name, from) {
  let dir = from;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

const errors = [];
const closure = new Set();
const queue = [''];
while (queue.length > 0) {
  const at = queue.shift();
  const entry = packages[at];
  const optionalPeers = new Set(Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
  const wanted = [
    ...Object.keys(entry.dependencies ?? {}).map((name) => [name, false]),
    ...Object.keys(entry.optionalDependencies ?? {}).map((name) => [name, true]),
    ...Object.keys(entry.peerDependencies ?? {}).map((name) => [name, optionalPeers.has(name)]),
  ];
  for (const [name, optional] of wanted) {
    const found = resolve(name, at);
    if (!found) {
      // Optional dependencies for other platforms are absent from the lockfile: fine. A required one is not.
      if (!optional) errors.push(`${at || 'the root package'} needs ${name}, which package-lock.json does not hold`);
      continue;
    }
    if (closure.has(found)) continue;
    closure.add(found);
    queue.push(found);
  }
}

const jsInstallScripts = [];
for (const at of [...closure].sort()) {
  const entry = packages[at];
  if (entry.dev) errors.push(`${at} is reached from production dependencies but package-lock.json marks it dev`);
  const dir = path.join(root, at);
  const manifestFile = path.join(dir, 'package.json');
  const manifest = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) : undefined;
  if (existsSync(path.join(dir, 'binding.gyp')) || manifest?.gypfile === true) {
    errors.push(`${at} has a binding.gyp: it compiles native code at install time`);
    continue;
  }
  if (!entry.hasInstallScript) continue;
  if (!manifest) {
    errors.push(`${at} has an install script, and node_modules does not hold it to inspect: run this after npm ci`);
    continue;
  }
  const scripts = INSTALL_SCRIPTS.filter((s) => manifest.scripts?.[s]).map((s) => `${s}: ${manifest.scripts[s]}`);
  const native = scripts.find((s) => NATIVE_BUILD.test(s));
  if (native) errors.push(`${at} runs a native build at install time (${native})`);
  else jsInstallScripts.push(`${at} (${scripts.join('; ') || 'hasInstallScript'})`);
}

if (closure.size > PRODUCTION_PACKAGE_BUDGET) {
  errors.push(
    `${closure.size} production packages, over the budget of ${PRODUCTION_PACKAGE_BUDGET} (.ci/check-deps.mjs): ` +
      'drop a dependency or raise the budget with a reason',
  );
}

const direct = Object.keys(packages[''].dependencies ?? {}).length;
const counts = `${closure.size} production packages (${direct} direct, budget ${PRODUCTION_PACKAGE_BUDGET})`;
if (errors.length > 0) {
  console.error(`check-deps: ${counts}; ${errors.length} problem(s):`);
  for (const error of errors) console.error(`check-deps: ${error}`);
  process.exit(1);
}
console.log(
  `check-deps: ${counts}, none with a native build step` +
    (jsInstallScripts.length ? `; JavaScript-only install scripts: ${jsInstallScripts.join(', ')}` : ''),
);
