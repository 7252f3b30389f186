// gRPC service definitions (proto-loader) for the discovery services the xDS server implements, loaded from the
// same Envoy protos as the reflection root.
import * as protoLoader from '@grpc/proto-loader';
import { ENVOY_PROTO_INCLUDE_DIRS } from './envoy-protos.js';

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
