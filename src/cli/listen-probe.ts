// Checks at start that `serve` can bind its addresses, so a port already taken is reported at once in plain words,
// not after the first etcd sync in grpc-js's. The probe binds and closes at once; the real bind follows.
import net from 'node:net';
import { parseListenAddress } from '../admin/server.js';

/** Why `address` cannot be listened on, in a sentence naming `what`; undefined when it can (or port 0 is asked). */
export async function listenProblem(what: string, address: string): Promise<string | undefined> {
  const { host, port } = parseListenAddress(address);
  if (port === 0) return undefined;
  const code = await new Promise<string | undefined>((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
  if (code === undefined) return undefined;
  if (code === 'EADDRINUSE') return `${what} ${address} is already in use (another etcd-xds serve?): stop it or choose another port`;
  if (code === 'EACCES') return `${what} ${address} cannot be bound: permission denied (ports below 1024 need privileges)`;
  if (code === 'EADDRNOTAVAIL') return `${what} ${address} cannot be bound: ${host} is not an address of this host`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${what} ${address} cannot be bound: ${host} does not resolve`;
  return `${what} ${address} cannot be bound (${code})`;
}
