// A pino logger that keeps every line, so a test can wait for the log line that proves an event was processed
// (a retry, a failure) instead of sleeping.
import { pino, type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export function recordingLogger(level = 'debug'): { logger: Logger; lines: LogLine[]; count(msg: string): number } {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, count: (msg) => lines.filter((line) => line.msg === msg).length };
}
