// The etcd connection flags every command that talks to etcd shares: endpoints, TLS files and user/password.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EtcdConnection } from '../registry/etcd-client.js';

export interface EtcdFlags {
  etcdEndpoints: string[];
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUsername?: string;
  etcdPassword?: string;
}

function endpointList(value: string): string[] {
  const endpoints = value.split(',').map((e) => e.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new InvalidArgumentError('expected at least one etcd URL, e.g. http://127.0.0.1:2379');
  return endpoints;
}

export function addEtcdOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--etcd-endpoints <urls>', 'etcd endpoints, comma separated')
        .env('ETCD_ENDPOINTS')
        .default(['http://127.0.0.1:2379'], 'http://127.0.0.1:2379')
        .argParser(endpointList),
    )
    .addOption(new Option('--etcd-ca <file>', 'CA certificate of the etcd servers (enables TLS)').env('ETCD_CA'))
    .addOption(new Option('--etcd-cert <file>', 'client certificate for etcd (with --etcd-key)').env('ETCD_CERT'))
    .addOption(new Option('--etcd-key <file>', 'client key for etcd (with --etcd-cert)').env('ETCD_KEY'))
    .addOption(new Option('--etcd-username <name>', 'etcd user (auth enabled)').env('ETCD_USERNAME'))
    .addOption(new Option('--etcd-password <password>', 'etcd password (prefer the ETCD_PASSWORD variable)').env('ETCD_PASSWORD'));
}

export function etcdConnection(flags: EtcdFlags): EtcdConnection {
  return {
    endpoints: flags.etcdEndpoints,
    ...(flags.etcdCa ? { caFile: flags.etcdCa } : {}),
    ...(flags.etcdCert ? { certFile: flags.etcdCert } : {}),
    ...(flags.etcdKey ? { keyFile: flags.etcdKey } : {}),
    ...(flags.etcdUsername ? { username: flags.etcdUsername } : {}),
    ...(flags.etcdPassword ? { password: flags.etcdPassword } : {}),
  };
}

/** What is wrong with a combination of etcd flags, if anything (checked before any command runs). */
export function etcdFlagsProblem(flags: Partial<EtcdFlags>): string | undefined {
  if (Boolean(flags.etcdCert) !== Boolean(flags.etcdKey)) return '--etcd-cert and --etcd-key go together: give both or neither';
  if (flags.etcdCert && !flags.etcdCa) return '--etcd-cert needs --etcd-ca (the CA of the etcd servers)';
  if (flags.etcdPassword && !flags.etcdUsername) return '--etcd-password needs --etcd-username';
  return undefined;
}
