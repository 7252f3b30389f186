// `etcd-xds` command line: one module per subcommand; this file only wires them together.
import { Command, CommanderError } from 'commander';
import { serveCommand } from './serve.js';
import { registerCommand } from './register.js';
import { registrarCommand } from './registrar.js';
import { servicesCommand, clientsCommand, configStatusCommand } from './inspect.js';
import { demoCommand } from './demo.js';
import { validateEnvoyCommand } from './validate-envoy.js';
import { etcdFlagsProblem, loadEtcdSecrets } from './etcd-flags.js';
import { adminFlagsProblem, loadAdminSecrets } from './serve.js';
import { sampleBackendCommand } from './sample-backend.js';
import { deregisterCommand, drainCommand } from './operator-drain.js';
import { bootstrapCommand } from './bootstrap.js';
import { configCommand } from './config.js';

/** Bad flags exit 2 (usage error), like most Unix tools; --help and --version exit 0. */
function exitTwoOnUsageErrors(command: Command): void {
  command.exitOverride((err: CommanderError) => {
    // Help asked for, or --version: 0. Help shown because no command was given, or any usage error: 2.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
  command.showHelpAfterError('(run with --help for usage)');
  for (const sub of command.commands) exitTwoOnUsageErrors(sub);
}

export function buildProgram(): Command {
  const program = new Command('etcd-xds')
    .description('Envoy xDS control plane fed by service registrations in etcd')
    .version('0.1.0');
  program.addCommand(serveCommand());
  program.addCommand(registerCommand());
  program.addCommand(registrarCommand());
  program.addCommand(drainCommand());
  program.addCommand(deregisterCommand());
  program.addCommand(servicesCommand());
  program.addCommand(clientsCommand());
  program.addCommand(demoCommand());
  program.addCommand(validateEnvoyCommand());
  program.addCommand(bootstrapCommand());
  program.addCommand(sampleBackendCommand());
  program.addCommand(configCommand().addCommand(configStatusCommand()));
  exitTwoOnUsageErrors(program);
  // Flag combinations that no single option parser can check: a usage error (exit 2) before the command runs.
  program.hook('preAction', (_program, command) => {
    const warn = (line: string): void => void process.stderr.write(`${line}\n`);
    const problem =
      loadEtcdSecrets(command, warn) ?? loadAdminSecrets(command, warn) ?? etcdFlagsProblem(command.opts()) ?? adminFlagsProblem(command.opts());
    if (problem) command.error(`error: ${problem}`, { exitCode: 2 });
  });
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`etcd-xds: ${(err as Error).message}\n`);
  process.exit(1);
}
