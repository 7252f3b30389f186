// A TCP proxy that can cut the network between a client and etcd while etcd keeps running: the tests use it
// to make the watcher fall behind while others write (and compact) etcd directly, which is the real way a
// control plane meets a compacted revision.
import net from 'node:net';

export interface PartitionProxy {
  /** http://127.0.0.1:<port>, to hand to an etcd client. */
  readonly endpoint: string;
  /** Drops every open connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startPartitionProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<PartitionProxy> {
  let partitioned = false;
  const open = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    if (partitioned) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cut() {
      partitioned = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      partitioned = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
