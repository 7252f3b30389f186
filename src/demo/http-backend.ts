// The sample HTTP service: every answer names the service, the instance and the path, so balancing through Envoy is
// visible with plain curl. `/healthz` is what the control plane's HTTP health check asks.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpBackendReply {
  service: string;
  instance_id: string;
  method: string;
  path: string;
}

export interface HttpBackend {
  readonly port: number;
  /** Requests answered so far (health checks excluded). */
  readonly requests: () => number;
  /** While not serving, /healthz answers 503 and every answer asks the client to close its connection. */
  setServing(serving: boolean): void;
  /** Graceful: stops accepting, lets requests in flight finish (connections forced closed after 2 s). */
  close(): Promise<void>;
  /** Stops at once, dropping every connection, as a crash would. */
  kill(): void;
}

/** `instanceId` may be a function, read at each request, for an id that names the port chosen at listen time. */
export async function startHttpBackend(options: {
  service: string;
  instanceId: string | (() => string);
  host?: string;
  port?: number;
}): Promise<HttpBackend> {
  const id = options.instanceId;
  const instanceId = typeof id === 'function' ? id : () => id;
  let serving = true;
  let requests = 0;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    // Keep-alive connections (Envoy's) would otherwise stick to a draining instance until it exits.
    if (!serving) res.setHeader('connection', 'close');
    if (path === '/healthz') {
      res.writeHead(serving ? 200 : 503, { 'content-type': 'text/plain' }).end(serving ? 'ok\n' : 'draining\n');
      return;
    }
    requests += 1;
    const reply: HttpBackendReply = { service: options.service, instance_id: instanceId(), method: req.method ?? 'GET', path };
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(reply)}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => requests,
    setServing: (value) => {
      serving = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 2_000).unref();
      }),
    kill: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}
