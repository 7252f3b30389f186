// `etcd-xds config apply -f FILE [--dry-run] | get [KIND [NAME]] | delete KIND NAME`: configuration objects in etcd
// (docs/envoy-config.md). A file that does not validate is never written: every error is printed with its document
// and path, and the command exits 2. etcd failures exit 1.
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { Etcd3 } from 'etcd3';
import { stringify } from 'yaml';
import { formatDocumentError, readConfigDocuments, type ConfigDocument } from '../config/documents.js';
import { CONFIG_KINDS, DEFAULT_CONFIG_PREFIX, KIND_NAMES, configKey, kindNamed, kindPrefix } from '../config/kinds.js';
import { ConfigStore } from '../config/store.js';
import type { ConfigKindName } from '../config/types.js';
import { silentLogger } from '../logger.js';
import { createEtcdClient } from '../registry/etcd-client.js';
import { readPrefix } from '../registry/prefix-listing.js';
import { RegistryStore } from '../registry/store.js';
import type { Instance } from '../registry/types.js';
import { previewGroups } from '../views/preview.js';
import { addEtcdOptions, etcdConnection, type EtcdFlags } from './etcd-flags.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** etcd refuses a transaction of more operations than this by default (--max-txn-ops). */
const MAX_TXN_OPS = 128;

interface ConfigFlags extends EtcdFlags {
  configPrefix: string;
}

interface ApplyFlags extends ConfigFlags {
  file: string;
  dryRun?: boolean;
  registrationsFromEtcd?: boolean;
  prefix: string;
}

class UsageError extends Error {}

function addConfigOptions(command: Command): Command {
  return addEtcdOptions(command).addOption(
    new Option('--config-prefix <prefix>', 'etcd key prefix of configuration objects').env('XDS_CONFIG_PREFIX').default(DEFAULT_CONFIG_PREFIX),
  );
}

function kindArgument(text: string): ConfigKindName {
  const kind = kindNamed(text);
  if (!kind) throw new UsageError(`unknown kind "${text}": use ${KIND_NAMES.join(' or ')}`);
  return kind;
}

async function withEtcd<T>(flags: EtcdFlags, run: (client: Etcd3) => Promise<T>): Promise<T> {
  const client = createEtcdClient(etcdConnection(flags), { dialTimeout: 5_000 });
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

async function readDocuments(file: string): Promise<ConfigDocument[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read: ${(err as Error).message}`);
  }
  const result = readConfigDocuments(text);
  if (!result.ok) throw new UsageError(result.errors.map((e) => `${file}: ${formatDocumentError(e)}`).join('\n'));
  return result.documents;
}

/** Services for a preview: the registry from etcd, or (without etcd) every service the file names, with no instances. */
async function previewServices(flags: ApplyFlags, documents: ConfigDocument[], store: ConfigStore): Promise<Map<string, readonly Instance[]>> {
  if (flags.registrationsFromEtcd) {
    return withEtcd(flags, async (client) => {
      const registry = new RegistryStore({ prefix: flags.prefix, logger: silentLogger() });
      const listing = await readPrefix(client, flags.prefix);
      registry.replaceAll(listing.kvs, listing.revision);
      registry.commit(Date.now());
      const config = await readPrefix(client, flags.configPrefix);
      // Current objects first, the file's on top: the preview shows the configuration after the apply.
      store.replaceAll(config.kvs, config.revision);
      applyToStore(store, flags.configPrefix, documents);
      return new Map([...registry.view().services].map(([service, byId]) => [service, [...byId.values()]]));
    });
  }
  const services = new Map<string, readonly Instance[]>();
  for (const document of documents) {
    if (document.kind === 'ServicePolicy') services.set(document.name, []);
  }
  for (const object of store.view().gateways.values()) {
    for (const host of object.spec.virtualHosts ?? []) {
      for (const route of host.routes ?? []) {
        for (const service of [route.service, ...(route.split ?? []).map((t) => t.service)]) if (service) services.set(service, []);
      }
    }
  }
  return services;
}

function applyToStore(store: ConfigStore, prefix: string, documents: ConfigDocument[]): void {
  for (const document of documents) store.applyPut(configKey(prefix, document.kind, document.name), JSON.stringify(document.spec), '0');
}

/**
 * What `config apply` writes: each validated document at its key under `configPrefix`, one transaction per 128
 * documents, so a file that fits is applied all at once or not at all.
 */
export async function writeConfigDocuments(client: Etcd3, configPrefix: string, documents: readonly ConfigDocument[]): Promise<void> {
  for (let start = 0; start < documents.length; start += MAX_TXN_OPS) {
    const batch = documents.slice(start, start + MAX_TXN_OPS);
    await client.kv.txn({
      success: batch.map((d) => ({ request_put: { key: Buffer.from(configKey(configPrefix, d.kind, d.name)), value: Buffer.from(JSON.stringify(d.spec)) } })),
    });
  }
}

async function apply(flags: ApplyFlags): Promise<void> {
  const documents = await readDocuments(flags.file);
  if (flags.dryRun) {
    const store = new ConfigStore({ prefix: flags.configPrefix });
    applyToStore(store, flags.configPrefix, documents);
    const services = await previewServices(flags, documents, store);
    const groups = previewGroups({
      config: store.view(),
      policies: documents.filter((d) => d.kind === 'ServicePolicy').map((d) => d.name),
      gateways: documents.filter((d) => d.kind === 'Gateway').map((d) => d.name),
      services,
    });
    process.stdout.write(`${JSON.stringify({ groups }, null, 2)}\n`);
    return;
  }
  await withEtcd(flags, (client) => writeConfigDocuments(client, flags.configPrefix, documents));
  for (const d of documents) process.stdout.write(`${d.kind} ${d.name}: applied (${configKey(flags.configPrefix, d.kind, d.name)})\n`);
}

async function get(kindText: string | undefined, name: string | undefined, flags: ConfigFlags & { json?: boolean }): Promise<void> {
  const kinds = kindText === undefined ? KIND_NAMES : [kindArgument(kindText)];
  if (name !== undefined) {
    const problem = CONFIG_KINDS[kinds[0]!].nameProblem(name);
    if (problem) throw new UsageError(problem);
  }
  const store = new ConfigStore({ prefix: flags.configPrefix });
  await withEtcd(flags, async (client) => {
    for (const kind of kinds) {
      const listing = await readPrefix(client, kindPrefix(flags.configPrefix, kind));
      for (const kv of listing.kvs) if (name === undefined || kv.key === configKey(flags.configPrefix, kind, name)) store.applyPut(kv.key, kv.value, kv.modRevision);
    }
  });
  const view = store.view();
  const objects = [...view.policies.values(), ...view.gateways.values()].filter((o) => kinds.includes(o.kind));
  if (name !== undefined && objects.length === 0 && view.rejected.size === 0) {
    process.stderr.write(`${kinds[0]} ${name}: not found\n`);
    process.exitCode = EXIT_FAILED;
    return;
  }
  const rejected = [...view.rejected.values()];
  if (flags.json) {
    const out = {
      objects: objects.map((o) => ({ kind: o.kind, name: o.name, key: o.key, modRevision: o.modRevision, spec: o.spec })),
      rejected: rejected.map((r) => ({ kind: r.kind, name: r.name, key: r.key, reason: r.reason, modRevision: r.modRevision })),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  // YAML documents that `config apply -f` reads back; stored values that do not validate are listed as comments.
  const docs = objects.map((o) => stringify({ kind: o.kind, name: o.name, spec: o.spec }));
  for (const r of rejected) docs.push(`# ${JSON.stringify(r.key)} does not validate: ${JSON.stringify(r.reason)}\n`);
  process.stdout.write(docs.join('---\n'));
}

async function remove(kindText: string, name: string, flags: ConfigFlags): Promise<void> {
  const kind = kindArgument(kindText);
  const problem = CONFIG_KINDS[kind].nameProblem(name);
  if (problem) throw new UsageError(problem);
  const key = configKey(flags.configPrefix, kind, name);
  const deleted = await withEtcd(flags, (client) => client.delete().key(key).exec());
  if (Number(deleted.deleted) === 0) {
    process.stderr.write(`${kind} ${name}: not found (${key})\n`);
    process.exitCode = EXIT_FAILED;
    return;
  }
  process.stdout.write(`${kind} ${name}: deleted (${key})\n`);
}

/** Runs a subcommand: usage errors (bad files, kinds, names) exit 2, anything else (etcd) exits 1. */
function action<A extends unknown[]>(run: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      process.stderr.write(`etcd-xds config: ${(err as Error).message}\n`);
      process.exitCode = err instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
    }
  };
}

export function configCommand(): Command {
  const config = new Command('config').description('configuration objects in etcd: service policies and gateways (docs/envoy-config.md)');
  const applyCommand = addConfigOptions(
    new Command('apply')
      .description('validate a file of configuration objects, then write them to etcd (--dry-run: print what nodes would receive)')
      .requiredOption('-f, --file <file>', 'YAML or JSON file; documents {kind, name, spec} separated by ---')
      .option('--dry-run', 'write nothing: print the Envoy resources each affected group of nodes would receive, as proto3 JSON')
      .option('--registrations-from-etcd', 'with --dry-run: use the services registered in etcd and the configuration stored there')
      .addOption(new Option('--prefix <prefix>', 'etcd key prefix of registrations').env('XDS_PREFIX').default('/services/')),
  ).action(action((flags: ApplyFlags) => apply(flags)));
  const getCommand = addConfigOptions(
    new Command('get')
      .description('print stored configuration objects as YAML documents (or --json)')
      .argument('[kind]', `${KIND_NAMES.join(' or ')}`)
      .argument('[name]', 'object name')
      .option('--json', 'print JSON, with the reasons of values that do not validate'),
  ).action(action((kind: string | undefined, name: string | undefined, flags: ConfigFlags & { json?: boolean }) => get(kind, name, flags)));
  const deleteCommand = addConfigOptions(
    new Command('delete').description('delete one configuration object').argument('<kind>', KIND_NAMES.join(' or ')).argument('<name>', 'object name'),
  ).action(action((kind: string, name: string, flags: ConfigFlags) => remove(kind, name, flags)));
  return config.addCommand(applyCommand).addCommand(getCommand).addCommand(deleteCommand);
}
