// The stop sequence shared by commands that register an instance and stay in the foreground: a signal before the
// instance is registered aborts the start; the first after it drains; a second skips the rest of the drain.
import type { Logger } from '../logger.js';

export interface Drainable {
  drain(): Promise<void>;
  /** Deregister (and stop) at once. */
  stopNow(): Promise<void>;
}

export interface StopSignals {
  /** Aborted when a signal arrives before `started()` was called: pass it to the start-up. */
  readonly startup: AbortSignal;
  /** The instance is registered: from now on signals drain it. */
  started(target: Drainable): void;
  /** Resolves once the drain (or the immediate stop) has finished, or the start was aborted. */
  readonly stopped: Promise<void>;
}

export function handleStopSignals(logger: Logger, what: string): StopSignals {
  const startup = new AbortController();
  let target: Drainable | undefined;
  let signals = 0;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (!target) {
        // The start may still finish (the key can be written before register() returns): then started() drains.
        logger.info({ signal }, `signal received before the ${what} was registered: stopping`);
        startup.abort(new Error(`interrupted by ${signal} before the ${what} was registered`));
      } else if (signals === 1) {
        logger.info({ signal }, 'signal received: draining, then deregistering (send it again to skip the drain)');
        void target.drain().then(resolve);
      } else {
        logger.info({ signal }, 'second signal: deregistering now');
        void target.stopNow().then(resolve);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const started = (drainable: Drainable): void => {
    target = drainable;
    // A signal came while the start was finishing: the instance is registered after all, so drain it now.
    if (signals > 0) void drainable.drain().then(resolveStopped);
  };
  return { startup: startup.signal, started, stopped };
}
