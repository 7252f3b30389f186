// What the control plane saw change in etcd for one service, as short sentences for the demo's output: the link
// between "the backend drained" and "the client stopped calling it".
import type { InstanceStatus, RegistryView } from '../registry/types.js';

/** instance id → status, as registered in etcd. */
export type InstanceStates = ReadonlyMap<string, InstanceStatus>;

export function instanceStates(view: RegistryView, service: string): InstanceStates {
  const states = new Map<string, InstanceStatus>();
  for (const [id, instance] of view.services.get(service) ?? []) {
    // Weight 0 means draining (DESIGN.md), whatever the status field says.
    states.set(id, instance.weight === 0 ? 'draining' : instance.status);
  }
  return states;
}

/** One sentence per instance that appeared, changed status, or disappeared, in instance-id order. */
export function describeStateChanges(before: InstanceStates, after: InstanceStates): string[] {
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort();
  const lines: string[] = [];
  for (const id of ids) {
    const was = before.get(id);
    const now = after.get(id);
    if (was === now) continue;
    if (was === undefined) lines.push(`${id} registered (${now})`);
    else if (now === undefined) lines.push(`${id} removed from etcd`);
    else lines.push(`${id} ${was} → ${now}`);
  }
  return lines;
}
