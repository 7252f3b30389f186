// A client that stops reading does not make the server queue every push: once its buffer is full, pushes are held
// back, and when it reads again it gets the latest state in one response per type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL, type Snapshot, type SnapshotDiff, type SnapshotSource } from '../../src/snapshot/types.js';
import { XdsServer } from '../../src/xds/server.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { SnapshotSequence, instance } from '../support/snapshots.js';

/** A snapshot source driven by the test: each step adds one service to a large fleet. */
class SteppedSource implements SnapshotSource {
  private readonly sequence = new SnapshotSequence();
  private readonly services: Record<string, ReturnType<typeof instance>[]> = {};
  private snapshot: Snapshot;
  private readonly listeners = new Set<(s: Snapshot, d: SnapshotDiff) => void>();

  constructor(initialServices: number) {
    for (let i = 0; i < initialServices; i++) this.services[`svc-${i}`] = [instance(`svc-${i}`, 'a', 1000 + i)];
    this.snapshot = this.sequence.next(this.services).snapshot;
  }
  current(): Snapshot {
    return this.snapshot;
  }
  onSnapshot(listener: (s: Snapshot, d: SnapshotDiff) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  addService(name: string): void {
    this.services[name] = [instance(name, 'a', 9000)];
    const { snapshot, diff } = this.sequence.next(this.services);
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener(snapshot, diff);
  }
}

describe('backpressure', () => {
  const source = new SteppedSource(1500);
  let server: XdsServer;
  let address: string;

  beforeAll(async () => {
    server = new XdsServer({ source, logger: silentLogger() });
    address = await server.listen('127.0.0.1:0');
  });
  afterAll(async () => {
    await server?.close(100);
  });

  it('holds pushes for a client that stopped reading and sends the latest state when it resumes', async () => {
    const stream = new AdsTestStream(address, 'sotw');
    try {
      stream.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: [] });
      const first = await stream.next();
      expect(first.resources).toHaveLength(1500);
      stream.send({ type_url: TYPE_URL.cluster, resource_names: [], response_nonce: first.nonce, version_info: first.version });
      await stream.nothingWithin(100);
      stream.pause();
      const PUSHES = 80;
      for (let i = 0; i < PUSHES; i++) {
        source.addService(`added-${i}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      stream.resume();
      const received = [];
      for (;;) {
        const response = await stream.next(1_000).catch(() => undefined);
        if (!response) break;
        received.push(response);
      }
      // Some responses were already in flight when the buffer filled; the rest were folded into one catch-up.
      expect(received.length).toBeLessThan(PUSHES);
      expect(received.at(-1)!.resources).toHaveLength(1500 + PUSHES);
    } finally {
      stream.close();
    }
  });
});
