// Envoy's protos come from @grpc/grpc-js-xds (its deps/ folder): one place loads them, for both the
// protobufjs reflection root (building and encoding resources, validating configs) and the gRPC service
// definitions (proto-loader).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
const xdsPackageDir = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));

/** Include directories holding Envoy, xds, googleapis and protoc-gen-validate protos. */
export const ENVOY_PROTO_INCLUDE_DIRS: readonly string[] = [
  'envoy-api',
  'xds',
  'googleapis',
  'protoc-gen-validate',
].map((dir) => path.join(xdsPackageDir, 'deps', dir));

/** The project's own protos (etcdxds.v1.*). */
export const PROJECT_PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');

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

let cachedRoot: protobuf.Root | undefined;

/** One protobufjs root with every Envoy message we use, loaded once per process. */
export function envoyRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const root = new protobuf.Root();
  root.resolvePath = resolveInclude;
  root.loadSync(ENVOY_PROTO_FILES as string[], { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** Looks up a message type by its full name (without the type.googleapis.com/ prefix). */
export function envoyType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}

let cachedPackage: protoLoader.PackageDefinition | undefined;

/** gRPC service definitions (ADS and the per-type discovery services) for @grpc/grpc-js. */
export function discoveryPackageDefinition(): protoLoader.PackageDefinition {
  cachedPackage ??= protoLoader.loadSync(
    [
      'envoy/service/discovery/v3/ads.proto',
      'envoy/service/endpoint/v3/eds.proto',
      'envoy/service/cluster/v3/cds.proto',
      'envoy/service/listener/v3/lds.proto',
      'envoy/service/route/v3/rds.proto',
    ],
    {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
      includeDirs: ENVOY_PROTO_INCLUDE_DIRS as string[],
    },
  );
  return cachedPackage;
}
