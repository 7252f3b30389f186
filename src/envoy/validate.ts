// Strict offline validation of Envoy configs (bootstraps, resources): what Envoy itself would reject at load
// time — unknown or misspelt fields, bad enums and scalars, oneof conflicts, malformed well-known types, Anys of
// unknown types, and the protoc-gen-validate rules — reported with the path of each offending value.
import protobuf from 'protobufjs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { envoyRoot, findEnvoyType } from '../protos/envoy-protos.js';
import { checkProto3Json, type PathSegment, type Proto3JsonProblem } from '../protos/proto3-json.js';

export interface ValidationError {
  /** Where the error is, e.g. `static_resources.clusters[0].connect_timeout`; empty for the whole document. */
  path: string;
  message: string;
  /** 1-based line in the YAML text, when the error came from validateEnvoyYaml. */
  line?: number;
}

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

const PLAIN_SEGMENT = /^[A-Za-z_@][A-Za-z0-9_]*$/;

/** Renders path segments as `a.b[0]["key.with.dots"]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_SEGMENT.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/**
 * Looks up a message type by full name, with or without a `type.googleapis.com/` style prefix. In the shared
 * Envoy root (the default), extension types are loaded on demand.
 */
export function resolveMessageType(name: string, root: protobuf.Root = envoyRoot()): protobuf.Type {
  const fullName = name.slice(name.lastIndexOf('/') + 1).replace(/^\./, '');
  if (root === envoyRoot()) {
    const lookup = findEnvoyType(fullName);
    if ('missing' in lookup) throw new Error(`unknown message type "${fullName}": ${lookup.missing}`);
    return lookup.type;
  }
  const found = root.lookup(`.${fullName}`);
  if (!(found instanceof protobuf.Type)) throw new Error(`unknown message type "${fullName}"`);
  return found;
}

function walk(typeName: string, value: unknown): Proto3JsonProblem[] {
  return checkProto3Json(resolveMessageType(typeName), value, { findType: findEnvoyType });
}

/**
 * Validates a value (as parsed from JSON or YAML) against an Envoy message type under proto3 JSON rules.
 * Throws only when `typeName` itself is unknown.
 */
export function validateEnvoyMessage(typeName: string, value: unknown): ValidationError[] {
  return walk(typeName, value).map((error) => ({ path: formatPath(error.path), message: error.message }));
}

/** The line of the deepest YAML node on the path (a missing field points at its parent). */
function lineOf(doc: Document, lines: LineCounter, path: PathSegment[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]).line;
  }
  return undefined;
}

/** Parses YAML (or JSON) text and validates it; YAML syntax errors are reported as errors too. */
export function validateEnvoyYaml(text: string, typeName: string = BOOTSTRAP_TYPE): ValidationError[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, intAsBigInt: true });
  if (doc.errors.length > 0) {
    return doc.errors.map((error) => ({
      path: '',
      // With prettyErrors (the default) the message continues with a snippet of the source: keep its first line.
      message: `YAML syntax error: ${error.message.split('\n')[0]!.replace(/:$/, '')}`,
      ...(error.linePos ? { line: error.linePos[0].line } : {}),
    }));
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // The yaml package throws here on alias bombs ("Excessive alias count ..."): a broken document, not a crash.
    return [{ path: '', message: `YAML error: ${err instanceof Error ? err.message : String(err)}` }];
  }
  if (value === null || value === undefined) return [{ path: '', message: 'the document is empty' }];
  return walk(typeName, value).map((error) => {
    const line = lineOf(doc, lines, error.path);
    return { path: formatPath(error.path), message: error.message, ...(line !== undefined ? { line } : {}) };
  });
}
