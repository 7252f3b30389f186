// Configuration files for `etcd-xds config apply`: YAML (or JSON) with one or more documents separated by `---`,
// each `{kind: ServicePolicy|Gateway, name: <name>, spec: <the message as proto3 JSON>}`. Every document is read in
// full and every error is reported with where it is (`document 2 (Gateway front): spec.virtualHosts[0]...`), so a
// file is fixed in one round.
import { parseAllDocuments } from 'yaml';
import { CONFIG_KINDS, KIND_NAMES, isKindName } from './kinds.js';
import type { ConfigError } from './schema.js';
import type { ConfigKindName } from './types.js';

export interface ConfigDocument {
  kind: ConfigKindName;
  name: string;
  /** The spec as written (proto3 JSON), which is what is stored. */
  spec: Record<string, unknown>;
  /** The spec as the kind reads it (normalized names, checked). */
  parsed: unknown;
}

export interface DocumentError extends ConfigError {
  /** 1-based document number in the file. */
  document: number;
  /** `Kind name` when the document says so. */
  object?: string;
}

export type DocumentsResult = { ok: true; documents: ConfigDocument[] } | { ok: false; errors: DocumentError[] };

const DOCUMENT_FIELDS = new Set(['kind', 'name', 'spec']);
/** More documents than this in one file is refused: one apply is one change someone reviewed. */
export const MAX_DOCUMENTS = 1000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readDocument(value: unknown, index: number, errors: DocumentError[]): ConfigDocument | undefined {
  const document = index + 1;
  if (!isRecord(value)) {
    errors.push({ document, path: '', message: 'expected a mapping with kind, name and spec' });
    return undefined;
  }
  const object = typeof value['kind'] === 'string' && typeof value['name'] === 'string' ? `${value['kind']} ${value['name']}` : undefined;
  const at = (path: string, message: string): void => {
    errors.push({ document, ...(object ? { object } : {}), path, message });
  };
  const before = errors.length;
  for (const key of Object.keys(value)) if (!DOCUMENT_FIELDS.has(key)) at(key, `unknown field "${key}" (a document has kind, name and spec)`);
  const kind = value['kind'];
  if (!isKindName(kind)) at('kind', `must be ${KIND_NAMES.join(' or ')}, got ${JSON.stringify(kind ?? null)}`);
  const name = value['name'];
  if (typeof name !== 'string' || name === '') at('name', 'is required (a string)');
  else if (isKindName(kind)) {
    const problem = CONFIG_KINDS[kind].nameProblem(name);
    if (problem) at('name', problem);
  }
  const spec = value['spec'] ?? {};
  if (!isRecord(spec)) at('spec', 'must be a mapping');
  if (errors.length > before || !isKindName(kind) || typeof name !== 'string' || !isRecord(spec)) return undefined;
  const parsed = CONFIG_KINDS[kind].parse(spec);
  if (!parsed.ok) {
    for (const error of parsed.errors) at(error.path ? `spec.${error.path}` : 'spec', error.message);
    return undefined;
  }
  return { kind, name, spec, parsed: parsed.spec };
}

/** Reads a configuration file's text. */
export function readConfigDocuments(text: string): DocumentsResult {
  const errors: DocumentError[] = [];
  const docs = [...parseAllDocuments(text)];
  if (docs.length > MAX_DOCUMENTS) return { ok: false, errors: [{ document: MAX_DOCUMENTS + 1, path: '', message: `more than ${MAX_DOCUMENTS} documents` }] };
  const documents: ConfigDocument[] = [];
  const seen = new Map<string, number>();
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const line = error.linePos ? ` (line ${error.linePos[0].line})` : '';
        errors.push({ document: index + 1, path: '', message: `YAML syntax error${line}: ${error.message.split('\n')[0]!.replace(/:$/, '')}` });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push({ document: index + 1, path: '', message: `YAML error: ${(err as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document (a trailing `---`)
    const document = readDocument(value, index, errors);
    if (!document) return;
    const id = `${document.kind} ${document.name}`;
    const first = seen.get(id);
    if (first !== undefined) errors.push({ document: index + 1, object: id, path: 'name', message: `${id} is already defined by document ${first}` });
    else seen.set(id, index + 1);
    documents.push(document);
  });
  if (errors.length > 0) return { ok: false, errors };
  if (documents.length === 0) return { ok: false, errors: [{ document: 1, path: '', message: 'the file holds no documents' }] };
  return { ok: true, documents };
}

/** `document 2 (Gateway front): spec.listeners[0].port: must be from 1 to 65535, got 0` */
export function formatDocumentError(error: DocumentError): string {
  const where = `document ${error.document}${error.object ? ` (${error.object})` : ''}`;
  return error.path ? `${where}: ${error.path}: ${error.message}` : `${where}: ${error.message}`;
}
