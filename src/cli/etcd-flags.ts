// The etcd connection flags every command that talks to etcd shares: endpoints, TLS files and user/password, and the
// key prefix. Secrets need not be on the command line (where every local user reads them in /proc/PID/cmdline):
// the password comes from ETCD_PASSWORD or a file as well.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EtcdConnection } from '../registry/etcd-client.js';
import { normalizePrefix } from '../registration/record.js';

export interface EtcdFlags {
  etcdEndpoints: string[];
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUsername?: string;
  etcdPassword?: string;
  etcdPasswordFile?: string;
}

/** One etcd client URL: http(s)://host[:port], nothing after the port. */
export function etcdEndpointProblem(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `'${endpoint}' is not a URL: expected http://HOST:PORT, e.g. http://127.0.0.1:2379`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `'${endpoint}' must start with http:// or https://`;
  if (url.hostname === '') return `'${endpoint}' names no host`;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    return `'${endpoint}' must be only scheme, host and port (e.g. http://127.0.0.1:2379)`;
  }
  return undefined;
}

export function endpointList(value: string): string[] {
  const endpoints = value.split(',').map((e) => e.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new InvalidArgumentError('expected at least one etcd URL, e.g. http://127.0.0.1:2379');
  for (const endpoint of endpoints) {
    const problem = etcdEndpointProblem(endpoint);
    if (problem) throw new InvalidArgumentError(problem);
  }
  return endpoints;
}

const MAX_PREFIX_LENGTH = 512;

/** A key prefix: printable, no spaces, ending in "/" (added when missing, as the SDK does). */
export function keyPrefix(value: string): string {
  if (value === '') throw new InvalidArgumentError('expected a key prefix such as /services/');
  if (value.length > MAX_PREFIX_LENGTH) throw new InvalidArgumentError(`a key prefix has at most ${MAX_PREFIX_LENGTH} characters`);
  if (/[\s\u0000-\u001f\u007f]/.test(value)) throw new InvalidArgumentError('a key prefix has no spaces or control characters');
  return normalizePrefix(value);
}

/** `--prefix` [XDS_PREFIX], the same for every command, so writers and the control plane agree on the keys. */
export function prefixOption(description = 'etcd key prefix of registrations'): Option {
  return new Option('--prefix <prefix>', description).env('XDS_PREFIX').default('/services/').argParser(keyPrefix);
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
    .addOption(
      new Option('--etcd-password <password>', 'etcd password; visible to every local user on the command line, so prefer ETCD_PASSWORD or --etcd-password-file')
        .env('ETCD_PASSWORD')
        .conflicts('etcdPasswordFile'),
    )
    .addOption(new Option('--etcd-password-file <file>', 'read the etcd password from this file (trailing newline ignored)').env('ETCD_PASSWORD_FILE'));
}

/** The first line of a secret file, or a usage problem naming the flag. */
export function readSecretFile(file: string, flag: string): { value: string } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problem: `${flag}: cannot read ${file}: ${(err as Error).message}` };
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '' || value.includes('\n')) return { problem: `${flag}: ${file} must hold the secret on one line` };
  return { value };
}

/** A warning for a secret given on the command line, where every local user can read it. */
export function secretOnCommandLineWarning(command: Command, option: string, flag: string, alternatives: string): string | undefined {
  if (command.getOptionValueSource(option) !== 'cli') return undefined;
  return `warning: ${flag} on the command line is visible to every user of this host (ps, /proc/PID/cmdline); use ${alternatives}`;
}

/**
 * Reads `--etcd-password-file` into the password (before the command runs) and warns about a password on the command
 * line. Returns a usage problem, if any.
 */
export function loadEtcdSecrets(command: Command, warn: (line: string) => void): string | undefined {
  const flags = command.opts<Partial<EtcdFlags>>();
  if (!('etcdEndpoints' in flags)) return undefined;
  const warning = secretOnCommandLineWarning(command, 'etcdPassword', '--etcd-password', 'ETCD_PASSWORD or --etcd-password-file');
  if (warning) warn(warning);
  if (flags.etcdPasswordFile === undefined) return undefined;
  const secret = readSecretFile(flags.etcdPasswordFile, '--etcd-password-file');
  if ('problem' in secret) return secret.problem;
  command.setOptionValueWithSource('etcdPassword', secret.value, 'config');
  return undefined;
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
