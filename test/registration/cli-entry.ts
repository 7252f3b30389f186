// Test-only entry running the registration subcommands without the rest of the CLI (whose other modules are
// written separately). It maps usage errors to exit code 2 exactly as src/cli/main.ts does.
import { Command, type CommanderError } from 'commander';
import { registerCommand } from '../../src/cli/register.js';
import { registrarCommand } from '../../src/cli/registrar.js';

const program = new Command('etcd-xds').addCommand(registerCommand()).addCommand(registrarCommand());
for (const command of [program, ...program.commands]) {
  command.exitOverride((err: CommanderError) => {
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
    process.exit(ok ? 0 : 2);
  });
  command.showHelpAfterError('(run with --help for usage)');
}
await program.parseAsync(process.argv);
