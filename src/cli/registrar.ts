// `etcd-xds registrar --config instances.yaml`: registers the listed instances while their probes pass, until
// SIGINT/SIGTERM, then deregisters them all. A bad config file exits 2 with the path of the offending field.
import { Command } from 'commander';
import { addEtcdOptions, etcdConnection, prefixOption, type EtcdFlags } from './etcd-flags.js';
import { addLogOptions, loggerFromFlags, type LogFlags } from './log-flags.js';
import { loadRegistrarConfig, type RegistrarConfig } from '../registration/registrar-config.js';
import { Registrar } from '../registration/registrar.js';

interface RegistrarFlags extends EtcdFlags, LogFlags {
  config: string;
  prefix: string;
}

export function registrarCommand(): Command {
  const command = new Command('registrar')
    .description('probe the instances listed in a YAML file and keep the healthy ones registered in etcd')
    .requiredOption('--config <file>', 'YAML file listing the instances and their probes');
  addLogOptions(addEtcdOptions(command))
    .addOption(prefixOption('etcd key prefix'))
    .action(async (flags: RegistrarFlags) => {
      let config: RegistrarConfig;
      try {
        config = await loadRegistrarConfig(flags.config);
      } catch (err) {
        return command.error(`error: ${(err as Error).message}`, { exitCode: 2, code: 'etcd-xds.invalidConfig' });
      }
      const logger = loggerFromFlags(flags, 'etcd-xds-registrar');
      const registrar = new Registrar({ config, etcd: etcdConnection(flags), prefix: flags.prefix, logger });
      registrar.start();
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          logger.info({ signal }, 'signal received: deregistering all instances');
          void registrar.stop().then(resolve);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      process.exit(0);
    });
  return command;
}
