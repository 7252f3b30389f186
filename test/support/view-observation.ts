// What the watcher tests observe: every change a watcher emits, and views read by service and instance.
import type { RegistryChange, RegistryWatcher } from '../../src/registry/watcher.js';
import type { RegistryView } from '../../src/registry/types.js';

/** Every change a watcher emits, in order. */
export function recordChanges(watcher: RegistryWatcher): RegistryChange[] {
  const changes: RegistryChange[] = [];
  watcher.on('change', (change) => changes.push(change));
  return changes;
}

/** Instance ids of one service in a view, sorted. */
export function idsOf(view: RegistryView, service: string): string[] {
  return [...(view.services.get(service)?.keys() ?? [])];
}

/** Address of one instance in a view, or undefined. */
export function addressOf(view: RegistryView, service: string, id: string): string | undefined {
  return view.services.get(service)?.get(id)?.address;
}
