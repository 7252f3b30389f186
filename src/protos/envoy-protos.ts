// Envoy's protos come from @grpc/grpc-js-xds (its deps/ folder): one protobufjs reflection root, shared by the
// snapshot (building and encoding resources), the xDS server and the config validator, with extension types
// loaded on demand. The gRPC service definitions are in grpc-services.ts, the project's own protos in
// project-protos.ts.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
// Importing proto-loader registers google/protobuf/descriptor.proto (and api, type, source_context) among
// protobufjs's bundled files: Envoy's option annotations import descriptor.proto.
import '@grpc/proto-loader';
import type { TypeLookup } from './proto3-json-walk.js';

const require = createRequire(import.meta.url);
const xdsPackageDir = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));

/** Include directories holding Envoy, xds, googleapis and protoc-gen-validate protos. */
export const ENVOY_PROTO_INCLUDE_DIRS: readonly string[] = [
  'envoy-api',
  'xds',
  'googleapis',
  'protoc-gen-validate',
].map((dir) => path.join(xdsPackageDir, 'deps', dir));

/** Files whose messages the control plane builds, serves or validates. */
export const ENVOY_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/any.proto',
  'google/rpc/status.proto',
];

function resolveInclude(origin: string, target: string): string {
  if (path.isAbsolute(target)) return target;
  for (const dir of ENVOY_PROTO_INCLUDE_DIRS) {
    const candidate = path.join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  return protobuf.util.path.resolve(origin, target);
}

const LOAD_OPTIONS: protobuf.IParseOptions = { keepCase: true };

function newRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = resolveInclude;
  return root;
}

let cachedRoot: protobuf.Root | undefined;

/** One protobufjs root with every Envoy message we use, loaded once per process. */
export function envoyRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const root = newRoot();
  root.loadSync(ENVOY_PROTO_FILES as string[], LOAD_OPTIONS);
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** Looks up a message type by its full name (without the type.googleapis.com/ prefix). */
export function envoyType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}

/** A message type, or why no shipped .proto defines it. */
export type EnvoyTypeLookup = TypeLookup;

// Package names are lower_snake segments (envoy.extensions.filters.network.tcp_proxy.v3); the message name that
// follows starts with a capital. Restricting segments to this shape also keeps the directory inside the include dirs.
const PACKAGE_SEGMENT = /^[a-z_][a-z0-9_]*$/;

/** Why each package directory failed to load, in part or whole (empty when it loaded whole); loaded once. */
const packageLoads = new Map<string, string[]>();
/** Names already looked for and not found: a miss costs a directory scan and a load only once. */
const missingTypes = new Map<string, string>();

function loadedType(root: protobuf.Root, fullName: string): protobuf.Type | undefined {
  const found = root.lookup(`.${fullName}`);
  return found instanceof protobuf.Type ? found : undefined;
}

/** The .proto files of one package directory, under every include dir (and protobufjs's bundled google/protobuf). */
function packageFiles(packageDir: string): string[] {
  const files: string[] = [];
  for (const includeDir of ENVOY_PROTO_INCLUDE_DIRS) {
    const dir = path.join(includeDir, packageDir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir).sort()) if (name.endsWith('.proto')) files.push(path.join(dir, name));
  }
  const bundled = Object.keys(protobuf.common).filter((name) => path.posix.dirname(name) === packageDir);
  return [...files, ...bundled];
}

/** Loads files into a throwaway root: the error that loading them would raise, or undefined when they load. */
function trialLoadError(files: string[]): string | undefined {
  try {
    newRoot().loadSync(files, LOAD_OPTIONS).resolveAll();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function shownFile(file: string): string {
  const includeDir = ENVOY_PROTO_INCLUDE_DIRS.find((dir) => file.startsWith(dir + path.sep));
  return includeDir ? path.relative(includeDir, file) : file;
}

/**
 * Loads a package directory into the shared root. A file that cannot load (it imports a .proto the package does
 * not ship, such as opencensus) is tried in a throwaway root first and left out, so a half-loaded file never
 * leaves unresolved types in the root that encoding and validation share. Returns the files left out, with why.
 */
function loadPackage(root: protobuf.Root, packageDir: string): string[] {
  const files = packageFiles(packageDir);
  let loadable = files;
  const problems: string[] = [];
  if (trialLoadError(files) !== undefined) {
    loadable = files.filter((file) => {
      const error = trialLoadError([file]);
      if (error !== undefined) problems.push(`${shownFile(file)} cannot be loaded (${error.replaceAll(path.dirname(file) + path.sep, '')})`);
      return error === undefined;
    });
  }
  if (loadable.length > 0) {
    try {
      root.loadSync(loadable, LOAD_OPTIONS);
      root.resolveAll();
    } catch (err) {
      problems.push(`loading ${packageDir} failed: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * Finds a message type by full name (no `type.googleapis.com/` prefix), loading the .proto files of its package
 * from the shipped Envoy, xds and googleapis protos when ENVOY_PROTO_FILES did not bring it in: typed_configs may
 * name any of Envoy's hundreds of extensions.
 */
export function findEnvoyType(fullName: string): EnvoyTypeLookup {
  const name = fullName.replace(/^\./, '');
  const root = envoyRoot();
  const loaded = loadedType(root, name);
  if (loaded) return { type: loaded };
  const knownMissing = missingTypes.get(name);
  if (knownMissing !== undefined) return { missing: knownMissing };

  const segments = name.split('.');
  const packageLength = segments.findIndex((segment) => !PACKAGE_SEGMENT.test(segment));
  const packageSegments = segments.slice(0, packageLength === -1 ? segments.length : packageLength);
  const packageDir = packageSegments.join('/');
  let missing: string;
  if (packageSegments.length === 0 || packageSegments.length === segments.length) {
    missing = `"${name}" is not a message name (package.v3.MessageName)`;
  } else if (packageFiles(packageDir).length === 0) {
    missing = `no package ${packageSegments.join('.')} in the Envoy, xds or googleapis protos shipped with @grpc/grpc-js-xds`;
  } else {
    let problems = packageLoads.get(packageDir);
    if (!problems) {
      problems = loadPackage(root, packageDir);
      packageLoads.set(packageDir, problems);
    }
    const found = loadedType(root, name);
    if (found) return { type: found };
    missing = problems.length > 0
      ? `not found in the loadable files of package ${packageSegments.join('.')}; ${problems.join('; ')}`
      : `package ${packageSegments.join('.')} has no message ${segments.slice(packageSegments.length).join('.')}`;
  }
  missingTypes.set(name, missing);
  return { missing };
}

/** Like findEnvoyType, for callers that only need the type: undefined when no shipped .proto defines it. */
export function loadEnvoyType(fullName: string): protobuf.Type | undefined {
  const lookup = findEnvoyType(fullName);
  return 'type' in lookup ? lookup.type : undefined;
}
