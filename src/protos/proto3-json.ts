// Strict proto3 JSON checking against protobufjs reflection: the one walker behind the Envoy config validator
// (src/envoy/), registration values (src/registry/) and any other message read from JSON or YAML.
import protobuf from 'protobufjs';
import { MessageWalker, type Proto3JsonProblem, type TypeLookup } from './proto3-json-walk.js';

export { jsonNameOf, type PathSegment, type Proto3JsonProblem, type TypeLookup } from './proto3-json-walk.js';

export interface Proto3JsonOptions {
  /**
   * Resolves the type named by an Any's "@type". Default: a lookup in the root `type` belongs to. The Envoy
   * validator passes findEnvoyType, which loads extension protos on demand.
   */
  findType?: (fullName: string) => TypeLookup;
}

function lookupIn(root: protobuf.Root): (fullName: string) => TypeLookup {
  return (fullName) => {
    const found = root.lookup(`.${fullName.replace(/^\./, '')}`);
    return found instanceof protobuf.Type ? { type: found } : { missing: `no message ${fullName} is loaded` };
  };
}

/**
 * Checks a value already parsed from JSON or YAML as the message `type` under proto3 JSON rules: every key names
 * a field (by proto or JSON name, not both), every value has its field's JSON form and range, oneofs hold at
 * most one member, Anys name a known type, and protoc-gen-validate rules hold. Returns every problem, in the
 * order met (depth first, keys in the order written); empty when the value is valid. Never throws on a value.
 */
export function checkProto3Json(type: protobuf.Type, value: unknown, options: Proto3JsonOptions = {}): Proto3JsonProblem[] {
  const walker = new MessageWalker(options.findType ?? lookupIn(type.root as protobuf.Root));
  walker.message(type, value, []);
  return walker.problems;
}
