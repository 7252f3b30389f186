// `etcd-xds` command line: one module per subcommand; this file only wires them together.
import { Command, CommanderError } from 'commander';
import { serveCommand } from './serve.js';
import { registerCommand } from './register.js';
import { registrarCommand } from './registrar.js';
import { servicesCommand, clientsCommand } from './inspect.js';
import { demoCommand } from './demo.js';
import { validateEnvoyCommand } from './validate-envoy.js';
import { sampleBackendCommand } from './sample-backend.js';

/** Bad flags exit 2 (usage error), like most Unix tools; --help and --version exit 0. */
function exitTwoOnUsageErrors(command: Command): void {
  command.exitOverride((err: CommanderError) => {
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
    process.exit(ok ? 0 : 2);
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
  program.addCommand(servicesCommand());
  program.addCommand(clientsCommand());
  program.addCommand(demoCommand());
  program.addCommand(validateEnvoyCommand());
  program.addCommand(sampleBackendCommand());
  exitTwoOnUsageErrors(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`etcd-xds: ${(err as Error).message}\n`);
  process.exit(1);
}
