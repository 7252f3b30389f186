// `etcd-xds bootstrap grpc|envoy`: prints (or writes with --out) a ready bootstrap for one node, so a proxyless gRPC
// client or an Envoy needs nothing hand-written to reach etcd-xds.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'yaml';
import { isValidServiceName, SERVICE_NAME_RULE } from '../registry/parse.js';
import {
  envoyBootstrap,
  grpcBootstrap,
  parseLocality,
  splitHostPort,
  type BootstrapLocality,
  type BootstrapNode,
  type BootstrapTls,
} from './bootstrap-documents.js';
import { shellLine } from './shell-words.js';

interface BootstrapFlags {
  xdsServer: string;
  nodeId: string;
  nodeCluster: string;
  locality?: BootstrapLocality;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  out?: string;
}

interface EnvoyFlags extends BootstrapFlags {
  adminPort: number;
  adminHost: string;
  listenerPort?: number;
  dependsOn?: string[];
}

function asArgument<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function port(text: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port 1-65535');
  return n;
}

function serviceList(text: string): string[] {
  const services = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = services.find((s) => !isValidServiceName(s));
  if (bad !== undefined) throw new InvalidArgumentError(`'${bad}' is not a service name (${SERVICE_NAME_RULE})`);
  return services;
}

function ipLiteral(text: string): string {
  if (net.isIP(text) === 0) throw new InvalidArgumentError('expected an IPv4 or IPv6 address, e.g. 127.0.0.1 or 0.0.0.0');
  return text;
}

/** The flags that make this same Envoy bootstrap again (defaults that vary by host, like --node-id, spelt out). */
function envoyArguments(flags: EnvoyFlags): string[] {
  const { region = '', zone = '', subZone = '' } = flags.locality ?? {};
  const locality = flags.locality && [region, zone, subZone].join('/').replace(/\/+$/, '');
  const optional: [string, string | undefined][] = [
    ['--locality', locality],
    ['--tls-ca', flags.tlsCa],
    ['--tls-cert', flags.tlsCert],
    ['--tls-key', flags.tlsKey],
    ['--admin-host', flags.adminHost === '127.0.0.1' ? undefined : flags.adminHost],
    ['--admin-port', flags.adminPort === 9901 ? undefined : String(flags.adminPort)],
    ['--listener-port', flags.listenerPort === undefined ? undefined : String(flags.listenerPort)],
    ['--depends-on', flags.dependsOn?.join(',')],
  ];
  return [
    '--xds-server', flags.xdsServer, '--node-id', flags.nodeId, '--node-cluster', flags.nodeCluster,
    ...optional.flatMap(([flag, value]) => (value === undefined ? [] : [flag, value])),
  ];
}

function nonEmpty(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('must not be empty');
  return text;
}

function addNodeOptions(command: Command): Command {
  return command
    .addOption(new Option('--xds-server <host:port>', 'the etcd-xds xDS address').default('127.0.0.1:18000').argParser(asArgument((t) => (splitHostPort(t), t))))
    .addOption(new Option('--node-id <id>', 'node id, shown in etcd-xds clients and the admin page').default(os.hostname(), 'the host name').argParser(nonEmpty))
    .addOption(new Option('--node-cluster <name>', 'node cluster (the group this node belongs to)').default('etcd-xds-clients').argParser(nonEmpty))
    .addOption(new Option('--locality <region/zone/subzone>', 'where this node runs, for locality-aware balancing').argParser(asArgument(parseLocality)))
    .option('--tls-ca <file>', 'xDS over TLS: CA certificate that signed the server certificate')
    .option('--tls-cert <file>', 'xDS over mTLS: client certificate (with --tls-key)')
    .option('--tls-key <file>', 'xDS over mTLS: client private key (with --tls-cert)')
    .option('--out <file>', 'write the bootstrap to this file instead of stdout');
}

/** The TLS part of the flags, or a usage problem. */
function tlsOf(flags: BootstrapFlags): { tls?: BootstrapTls } | { problem: string } {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) return { problem: '--tls-cert and --tls-key go together' };
  if (flags.tlsCert && !flags.tlsCa) return { problem: '--tls-cert needs --tls-ca (the CA of the xDS server)' };
  if (!flags.tlsCa) return {};
  return { tls: { caFile: flags.tlsCa, ...(flags.tlsCert && { certFile: flags.tlsCert }), ...(flags.tlsKey && { keyFile: flags.tlsKey }) } };
}

function nodeOf(command: Command, flags: BootstrapFlags): BootstrapNode {
  const tls = tlsOf(flags);
  if ('problem' in tls) command.error(`error: ${tls.problem}`, { exitCode: 2 });
  return {
    xdsServer: flags.xdsServer,
    nodeId: flags.nodeId,
    nodeCluster: flags.nodeCluster,
    ...(flags.locality && { locality: flags.locality }),
    ...('tls' in tls && tls.tls && { tls: tls.tls }),
  };
}

function emit(text: string, out: string | undefined): void {
  if (out === undefined) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(out, text);
  process.stderr.write(`wrote ${out}\n`);
}

export function bootstrapCommand(): Command {
  const grpc = addNodeOptions(
    new Command('grpc').description('the gRPC xDS bootstrap (JSON) for a proxyless client: point GRPC_XDS_BOOTSTRAP at it, then dial xds:///<service>'),
  ).action((flags: BootstrapFlags, command: Command) => {
    const node = nodeOf(command, flags);
    if (node.tls) {
      process.stderr.write('note: TLS to the xDS server uses "tls" channel credentials (gRFC A65): gRPC releases that implement A65 read them; grpc-js-xds 1.14 supports only insecure\n');
    }
    emit(`${JSON.stringify(grpcBootstrap(node), null, 2)}\n`, flags.out);
  });
  const envoy = addNodeOptions(
    new Command('envoy').description('an Envoy bootstrap (YAML): admin (loopback unless --admin-host), listeners/routes/clusters/endpoints over ADS from etcd-xds'),
  )
    .addOption(new Option('--admin-port <port>', "Envoy's admin port").default(9901).argParser(port))
    .addOption(new Option('--admin-host <ip>', "the address Envoy's admin binds (0.0.0.0 only inside a container whose port is published)").default('127.0.0.1').argParser(ipLiteral))
    .addOption(new Option('--listener-port <port>', 'HTTP listener port etcd-xds gives this Envoy (node metadata etcd-xds.listener-port)').argParser(port))
    .addOption(new Option('--depends-on <svc1,svc2>', 'the services this Envoy calls: it receives only those (node metadata etcd-xds.depends-on)').argParser(serviceList))
    .action((flags: EnvoyFlags, command: Command) => {
      const document = envoyBootstrap({
        ...nodeOf(command, flags),
        adminPort: flags.adminPort,
        adminHost: flags.adminHost,
        ...(flags.listenerPort !== undefined && { listenerPort: flags.listenerPort }),
        ...(flags.dependsOn !== undefined && { dependsOn: flags.dependsOn }),
      });
      // The header repeats the command, so the file says how to make it again.
      const header =
        `# Envoy bootstrap for node ${JSON.stringify(flags.nodeId)}, generated by:\n` +
        `#   etcd-xds bootstrap envoy ${shellLine(envoyArguments(flags))}\n` +
        '# Check it with: etcd-xds validate-envoy FILE\n';
      emit(header + stringify(document, { lineWidth: 0, aliasDuplicateObjects: false }), flags.out);
    });
  return new Command('bootstrap')
    .description('print a ready bootstrap for one node: grpc (proxyless gRPC clients) or envoy')
    .addCommand(grpc)
    .addCommand(envoy);
}
