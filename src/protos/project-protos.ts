// The project's own protos (proto/etcdxds/v1/*): the registration record services write and the demo's Greeter.
// They are loaded into their own root, apart from Envoy's, because they import nothing from it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The folder holding the project's .proto files (shipped in the npm package). */
export const PROJECT_PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');

/** Project files loaded into the reflection root (the demo's Greeter is served through proto-loader instead). */
const PROJECT_PROTO_FILES = ['etcdxds/v1/registration.proto'];

let cachedRoot: protobuf.Root | undefined;

function projectRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const root = new protobuf.Root().loadSync(
    PROJECT_PROTO_FILES.map((file) => path.join(PROJECT_PROTO_DIR, file)),
    { keepCase: true },
  );
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** A message type of the project's protos by full name (e.g. `etcdxds.v1.Registration`), loaded once. */
export function projectType(fullName: string): protobuf.Type {
  return projectRoot().lookupType(fullName);
}
