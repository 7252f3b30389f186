// `etcd-xds validate-envoy FILE...`: strict offline check of Envoy configs (what Envoy would refuse at start-up),
// so a broken bootstrap is caught in CI instead of in a crash-looping container.
import { readFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { BOOTSTRAP_TYPE, resolveMessageType, validateEnvoyYaml, type ValidationError } from '../envoy/validate.js';

const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

function formatError(file: string, error: ValidationError): string {
  const location = error.line !== undefined ? `${file}:${error.line}` : file;
  return error.path ? `${location}: ${error.path}: ${error.message}` : `${location}: ${error.message}`;
}

interface ValidateOptions {
  type: string;
}

async function validateFiles(files: string[], options: ValidateOptions): Promise<number> {
  try {
    resolveMessageType(options.type);
  } catch (err) {
    process.stderr.write(`validate-envoy: --type: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  let exitCode = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      process.stderr.write(`${file}: cannot read: ${(err as Error).message}\n`);
      exitCode = EXIT_USAGE;
      continue;
    }
    let errors: ValidationError[];
    try {
      errors = validateEnvoyYaml(text, options.type);
    } catch (err) {
      // A file the validator cannot get through is invalid; it must not stop the check of the other files.
      errors = [{ path: '', message: `cannot validate: ${err instanceof Error ? err.message : String(err)}` }];
    }
    if (errors.length === 0) {
      process.stdout.write(`${file}: ok\n`);
      continue;
    }
    for (const error of errors) process.stdout.write(`${formatError(file, error)}\n`);
    if (exitCode === 0) exitCode = EXIT_INVALID;
  }
  return exitCode;
}

export function validateEnvoyCommand(): Command {
  const command = new Command('validate-envoy')
    .description(
      'check Envoy YAML/JSON configs offline and strictly: unknown fields, enum names, ranges, oneof conflicts, ' +
        'durations, typed_config types and validation rules; exit 1 when a file is invalid',
    )
    .argument('<files...>', 'Envoy config files (YAML or JSON)')
    .option('--type <message>', 'message type of each file', BOOTSTRAP_TYPE)
    .action(async (files: string[], options: ValidateOptions) => {
      process.exitCode = await validateFiles(files, options);
    });
  // Usage errors exit 2 even when this command runs on its own (main.ts applies the same rule to every command).
  command.exitOverride((err: CommanderError) => {
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version';
    process.exit(ok ? 0 : EXIT_USAGE);
  });
  return command;
}
