// Starts and drives bare-ads-server.ts (the transport floor) as a child process.
import path from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './lifecycle.js';
import { REPO_ROOT, spawnNode, type ChildNode } from './serve-child.js';

export interface BareServer extends ChildNode {
  readonly address: string;
  /** Sets the bytes the server answers and pushes. */
  load(bytes: Buffer): Promise<void>;
  /** Asks for a push to every open stream; resolves with performance.now() at the moment it was asked. */
  push(): number;
}

export async function startBareServer(label = 'bare-ads-server'): Promise<BareServer> {
  const node = spawnNode(label, path.join(REPO_ROOT, 'test/bench/bare-ads-server.ts'), [], { stdin: true });
  let address: string | undefined;
  let loaded = 0;
  createInterface({ input: node.child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) address = (JSON.parse(line) as { listening?: string }).listening ?? address;
    else if (line === 'loaded') loaded += 1;
  });
  try {
    await waitFor(`${label} to listen`, 60_000, () => {
      if (node.child.exitCode !== null) throw new Error(`${label} exited with ${node.child.exitCode}:\n${node.tail()}`);
      return address;
    }, 5);
  } catch (err) {
    await node.stop();
    throw err;
  }
  let pushes = 0;
  const send = (command: object) => node.child.stdin!.write(`${JSON.stringify(command)}\n`);
  return {
    ...node,
    address: address!,
    async load(bytes: Buffer) {
      const before = loaded;
      send({ load: bytes.toString('base64') });
      await waitFor(`${label} to load ${bytes.length} bytes`, 30_000, () => (loaded > before ? true : undefined), 2);
    },
    push() {
      const at = performance.now();
      send({ push: ++pushes });
      return at;
    },
  };
}
