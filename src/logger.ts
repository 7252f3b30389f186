// Logs on stderr (stdout stays free for command output such as tables and bootstraps): pino JSON for machines, and
// one readable line per event when a person is watching stderr at a terminal.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** `auto`: pretty when stderr is a terminal, JSON otherwise (pipes, files, log collectors). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Whether `format` means readable lines here; `isTerminal` is stderr's TTY-ness (a parameter so tests can ask). */
export function usesPrettyLogs(format: LogFormat, isTerminal = process.stderr.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && isTerminal);
}

export function createLogger(level: LevelWithSilent | string = 'info', name = 'etcd-xds', format: LogFormat = 'auto'): Logger {
  if (!usesPrettyLogs(format)) return pino({ name, level }, pino.destination(2));
  // In the main thread and synchronous: a line is on the screen before the process can exit after logging it.
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
  return pino({ name, level }, stream);
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
