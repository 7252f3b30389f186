// A minimal `etcd-xds` holding only the inspect commands, so the CLI tests run them as a real child process
// without main.ts (which imports every other subcommand). Mirrors main.ts's error handling.
import { Command } from 'commander';
import { clientsCommand, servicesCommand } from '../../src/cli/inspect.js';

const program = new Command('etcd-xds').addCommand(servicesCommand()).addCommand(clientsCommand());
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`etcd-xds: ${(err as Error).message}\n`);
  process.exit(1);
}
