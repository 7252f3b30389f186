import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Structured JSON logs on stderr (stdout stays free for command output such as tables). */
export function createLogger(level: LevelWithSilent | string = 'info', name = 'etcd-xds'): Logger {
  return pino({ name, level }, pino.destination(2));
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
