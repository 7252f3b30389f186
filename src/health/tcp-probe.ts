// TCP probe: healthy when a connection is accepted; the connection is closed at once.
import net from 'node:net';
import { abortReason, describeError, hostPort } from './probe-address.js';
import type { Probe, ProbeOutcome } from './types.js';

export function tcpProbe(address: string, port: number): Probe {
  return {
    type: 'tcp',
    target: hostPort(address, port),
    run: (signal) => connectOnce(address, port, signal),
    close: () => {},
  };
}

function connectOnce(address: string, port: number, signal: AbortSignal): Promise<ProbeOutcome> {
  if (signal.aborted) return Promise.resolve({ ok: false, error: abortReason(signal) });
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const finish = (outcome: ProbeOutcome): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ ok: false, error: abortReason(signal) });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (error) => finish({ ok: false, error: describeError(error) }));
  });
}
