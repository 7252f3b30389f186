// `etcd-xds drain <service>/<instance>` and `etcd-xds deregister <service>/<instance> [--after-drain S]`: take one
// instance out by hand, the way the key schema says (draining first, then the delete), from any host that reaches
// etcd. The instance's own SDK or `etcd-xds register` notices and keeps to it.
import { Command, InvalidArgumentError, Option } from 'commander';
import { createEtcdClient } from '../registry/etcd-client.js';
import { isValidServiceName, SERVICE_NAME_RULE } from '../registry/parse.js';
import { deregisterInstance, drainInstance, InstanceNotFoundError } from '../registration/operator-drain.js';
import { addEtcdOptions, etcdConnection, prefixOption, type EtcdFlags } from './etcd-flags.js';

interface OperatorFlags extends EtcdFlags {
  prefix: string;
  afterDrain?: number;
}

interface InstanceRef {
  service: string;
  instanceId: string;
}

/** `<service>/<instance>`: the service is the first segment, the instance id all the rest (as in the key). */
export function instanceRef(value: string): InstanceRef {
  const slash = value.indexOf('/');
  const service = slash < 0 ? value : value.slice(0, slash);
  const instanceId = slash < 0 ? '' : value.slice(slash + 1);
  if (!isValidServiceName(service)) throw new InvalidArgumentError(`expected <service>/<instance>; the service is ${SERVICE_NAME_RULE}`);
  if (instanceId === '') throw new InvalidArgumentError(`expected <service>/<instance>, e.g. ${service}/10.0.0.5-8080`);
  return { service, instanceId };
}

function secondsAtLeastZero(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 3600) throw new InvalidArgumentError('expected seconds from 0 to 3600');
  return n;
}

/** Runs one etcd operation with a client of its own; a missing key or an etcd error exits 1 with one line. */
async function withClient(flags: OperatorFlags, what: string, run: (client: ReturnType<typeof createEtcdClient>) => Promise<void>): Promise<void> {
  const client = createEtcdClient(etcdConnection(flags));
  try {
    await run(client);
  } catch (err) {
    const message = err instanceof InstanceNotFoundError ? `${err.message} (under the prefix ${flags.prefix})` : (err as Error).message;
    process.stderr.write(`etcd-xds ${what}: ${message}\n`);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}

export function drainCommand(): Command {
  const command = new Command('drain')
    .description('mark one instance draining in etcd, keeping its lease: clients send it no new calls (undo: restart the instance)')
    .argument('<service/instance>', 'the instance, as in its key <prefix><service>/<instance>', instanceRef);
  addEtcdOptions(command).addOption(prefixOption());
  return command.action(async (ref: InstanceRef, flags: OperatorFlags) => {
    await withClient(flags, 'drain', async (client) => {
      const outcome = await drainInstance(client, flags.prefix, ref.service, ref.instanceId);
      const lease = outcome.leaseId === '0' ? 'no lease' : `lease ${outcome.leaseId} kept`;
      process.stdout.write(outcome.alreadyDraining ? `${outcome.key} was already draining (${lease})\n` : `${outcome.key} is draining (${lease})\n`);
    });
  });
}

export function deregisterCommand(): Command {
  const command = new Command('deregister')
    .description('delete one instance from etcd; with --after-drain, mark it draining first and wait, so calls in flight finish')
    .argument('<service/instance>', 'the instance, as in its key <prefix><service>/<instance>', instanceRef);
  addEtcdOptions(command)
    .addOption(prefixOption())
    .addOption(new Option('--after-drain <seconds>', 'drain first, wait this long, then delete').argParser(secondsAtLeastZero));
  return command.action(async (ref: InstanceRef, flags: OperatorFlags) => {
    await withClient(flags, 'deregister', async (client) => {
      // Ctrl-C during the wait deletes at once instead of leaving the instance draining.
      const hurry = new AbortController();
      const onSignal = (): void => hurry.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const outcome = await deregisterInstance(client, flags.prefix, ref.service, ref.instanceId, flags.afterDrain, {
          signal: hurry.signal,
          onDrained: (drained) => process.stdout.write(`${drained.key} is draining; deleting it in ${flags.afterDrain} s\n`),
        });
        process.stdout.write(outcome.deleted ? `${outcome.key} deregistered (key deleted)\n` : `${outcome.key} was already gone\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  });
}
