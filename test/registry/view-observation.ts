// What the watcher tests observe: waiting for a condition, recording every view a watcher emits, reading views.
import type { RegistryChange, RegistryWatcher } from '../../src/registry/watcher.js';
import type { RegistryView } from '../../src/registry/types.js';

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
