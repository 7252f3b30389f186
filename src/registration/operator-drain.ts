// Operator-driven removal of one instance, the rule of the key schema ("weight 0 first, then deregister"):
// drainInstance() rewrites the registration with status "draining" under the SAME lease (so a crashed instance still
// expires on time, and a live one keeps its key alive), and deregisterInstance() deletes the key, draining first when
// asked. The instance's own SDK sees both through a watch on its key and keeps to them (register.ts).
// Used by `etcd-xds drain|deregister` and, through an interface, by the admin API.
import type { Namespace } from 'etcd3';
import { parseRegistration } from '../registry/parse.js';
import type { Instance } from '../registry/types.js';
import { buildRecord, encodeRecord, normalizePrefix, registrationKey } from './record.js';

export interface DrainOutcome {
  key: string;
  /** The lease that holds the key ('0' for none), unchanged by the drain. */
  leaseId: string;
  /** True when the registration already said "draining" (nothing was written). */
  alreadyDraining: boolean;
}

export interface DeregisterOutcome {
  key: string;
  /** Set when the instance was drained first (afterDrainSeconds given). */
  drained?: DrainOutcome;
  /** False when the key had already gone by the time of the delete (say, the instance deregistered itself). */
  deleted: boolean;
}

/** The key does not exist: nothing to drain or delete. */
export class InstanceNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no registration at ${key}`);
  }
}

/** The two operator actions bound to one etcd client and prefix: what an admin API handler needs. */
export interface OperatorActions {
  drain(service: string, instanceId: string): Promise<DrainOutcome>;
  deregister(service: string, instanceId: string, afterDrainSeconds?: number): Promise<DeregisterOutcome>;
}

export function operatorActions(client: Namespace, prefix: string): OperatorActions {
  return {
    drain: (service, instanceId) => drainInstance(client, prefix, service, instanceId),
    deregister: (service, instanceId, afterDrainSeconds) => deregisterInstance(client, prefix, service, instanceId, afterDrainSeconds),
  };
}

const WRITE_ATTEMPTS = 5;

/** Marks one instance draining, keeping its lease. Throws InstanceNotFoundError, or when its value is rejected. */
export async function drainInstance(client: Namespace, prefix: string, service: string, instanceId: string): Promise<DrainOutcome> {
  const key = registrationKey(prefix, service, instanceId);
  // A compare-and-swap on the key's revision: a write by the instance in between is re-read, never overwritten.
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const kv = (await client.get(key).exec()).kvs[0];
    if (!kv) throw new InstanceNotFoundError(key);
    const parsed = parseRegistration({ prefix: normalizePrefix(prefix), key, value: kv.value, lease: kv.lease, modRevision: kv.mod_revision });
    if (!parsed.ok) throw new Error(`cannot drain ${key}: its value is rejected by the control plane (${parsed.reason})`);
    const leaseId = kv.lease;
    if (parsed.instance.status === 'draining') return { key, leaseId, alreadyDraining: true };
    const put = client.put(key).value(drainingValue(kv.value.toString('utf8'), parsed.instance));
    if (leaseId !== '0') put.lease(leaseId);
    const result = await client.if(key, 'Mod', '==', kv.mod_revision).then(put).commit();
    if (result.succeeded) return { key, leaseId, alreadyDraining: false };
  }
  throw new Error(`cannot drain ${key}: its value kept changing during ${WRITE_ATTEMPTS} attempts`);
}

/**
 * Deletes one instance's key. With `afterDrainSeconds`, drains it first and waits that long, so clients finish
 * their calls. `signal` cuts the wait short (the key is deleted at once).
 */
export async function deregisterInstance(
  client: Namespace,
  prefix: string,
  service: string,
  instanceId: string,
  afterDrainSeconds?: number,
  options: { signal?: AbortSignal; onDrained?: (outcome: DrainOutcome) => void } = {},
): Promise<DeregisterOutcome> {
  const key = registrationKey(prefix, service, instanceId);
  let drained: DrainOutcome | undefined;
  if (afterDrainSeconds !== undefined) {
    drained = await drainInstance(client, prefix, service, instanceId);
    options.onDrained?.(drained);
    await pause(afterDrainSeconds * 1000, options.signal);
  }
  const deleted = (await client.delete().key(key).exec()).deleted !== '0';
  if (!deleted && !drained) throw new InstanceNotFoundError(key);
  return { key, deleted, ...(drained && { drained }) };
}

/**
 * The registration as written, with status "draining": a native JSON record keeps every field as the writer wrote
 * it; the address-only formats (Go naming records, bare host:port) become a native record with the same endpoint.
 */
function drainingValue(text: string, instance: Instance): string {
  if (instance.format === 'json') {
    const record = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify({ ...record, status: 'draining' });
  }
  return encodeRecord(buildRecord({ address: instance.address, port: instance.port, metadata: instance.metadata, status: 'draining' }));
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
