// The demo's proxyless gRPC client: grpc-js-xds resolves `xds:///<service>` through the control plane, and a paced
// loop sends Greeter calls at a steady rate, reporting who answered each one.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { greeterClient } from './greeter.js';

/** Writes a gRPC xDS bootstrap document (built by `etcd-xds bootstrap grpc`'s builder) and returns its path. */
export function writeBootstrapFile(dir: string, document: Record<string, unknown>): string {
  const file = path.join(dir, 'grpc-xds-bootstrap.json');
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  return file;
}

let xdsRegistered = false;

/** Points grpc-js-xds at the bootstrap file and installs the `xds:` resolver (once per process). */
export async function enableXdsResolver(bootstrapFile: string): Promise<void> {
  // grpc-js-xds reads the bootstrap lazily, when the first xds: channel is created.
  process.env.GRPC_XDS_BOOTSTRAP = bootstrapFile;
  if (xdsRegistered) return;
  (await import('@grpc/grpc-js-xds')).register();
  xdsRegistered = true;
}

export interface TrafficOptions {
  /** e.g. `xds:///greeter-grpc` */
  target: string;
  ratePerSecond: number;
  /** Calls in flight at most; the loop skips beats beyond it rather than queueing without bound. */
  maxInFlight?: number;
  deadlineMs?: number;
  onAnswer(instanceId: string): void;
  onError(message: string): void;
}

export interface Traffic {
  /** Resolves with the first answer's instance id: xDS resolution and the first connection are done. */
  readonly firstAnswer: Promise<string>;
  /** Stops sending, waits (bounded) for calls in flight, and closes the channel. */
  stop(): Promise<void>;
}

export function startTraffic(options: TrafficOptions): Traffic {
  const client = greeterClient(options.target);
  const maxInFlight = options.maxInFlight ?? 200;
  const deadlineMs = options.deadlineMs ?? 2_000;
  let startedAt = Date.now();
  let sent = 0;
  let inFlight = 0;
  let stopped = false;
  // Until the first answer (xDS resolution, first connection) one call at a time, so no backlog bursts out after.
  let answered = false;
  let resolveFirst: (id: string) => void = () => {};
  const firstAnswer = new Promise<string>((resolve) => (resolveFirst = resolve));
  const settled = new Set<Promise<void>>();

  const send = (): void => {
    sent += 1;
    inFlight += 1;
    const call = client.sayHello(`demo call ${sent}`, deadlineMs).then(
      (reply) => {
        if (!answered) {
          answered = true;
          startedAt = Date.now();
          sent = 0;
          resolveFirst(reply.instance_id);
        }
        if (!stopped) options.onAnswer(reply.instance_id);
      },
      (err: Error & { details?: string }) => {
        if (!stopped) options.onError(err.details || err.message);
      },
    );
    const tracked = call.finally(() => {
      inFlight -= 1;
      settled.delete(tracked);
    });
    settled.add(tracked);
  };

  // A beat every 10 ms sends whatever the rate says is due, so the rate holds even when timers run late.
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - startedAt) * options.ratePerSecond) / 1000) - sent;
    const room = (answered ? maxInFlight : 1) - inFlight;
    const now = Math.max(0, Math.min(due, room));
    for (let i = 0; i < now; i++) send();
    // Beats with no room are skipped, not owed: a stall never turns into a burst afterwards.
    if (due > now) sent += due - now;
  }, 10);

  return {
    firstAnswer,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await Promise.race([Promise.allSettled([...settled]), new Promise((resolve) => setTimeout(resolve, deadlineMs))]);
      client.close();
    },
  };
}
