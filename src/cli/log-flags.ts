// The logging flags every long-running command shares: level, and JSON or readable lines.
import { Command, Option } from 'commander';
import { LOG_FORMATS, LOG_LEVELS, createLogger, type LogFormat, type Logger } from '../logger.js';

export interface LogFlags {
  logLevel: string;
  logFormat: LogFormat;
}

export function addLogOptions(command: Command): Command {
  return command
    .addOption(new Option('--log-level <level>', 'log level').env('LOG_LEVEL').default('info').choices(LOG_LEVELS))
    .addOption(
      new Option('--log-format <format>', 'logs on stderr: readable lines at a terminal, JSON otherwise (auto), or always one of them')
        .env('LOG_FORMAT')
        .default('auto')
        .choices(LOG_FORMATS),
    );
}

export function loggerFromFlags(flags: LogFlags, name: string): Logger {
  return createLogger(flags.logLevel, name, flags.logFormat);
}
