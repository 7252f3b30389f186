// A node's metadata (google.protobuf.Struct as @grpc/proto-loader decodes it, with `oneofs: true`) as the plain
// values views read: top-level strings, numbers, booleans and lists of strings. Nested objects are dropped: no
// view reads them, and node metadata is client input, so what is kept is bounded (keys, string lengths, list items).
// No imports, so that the xDS layer can call it where the node enters without depending on views.

export const MAX_METADATA_KEYS = 256;
export const MAX_METADATA_STRING = 4096;
export const MAX_METADATA_LIST = 10_000;

export type NodeMetadataValue = string | number | boolean | string[];

interface RawValue {
  kind?: string;
  stringValue?: string;
  string_value?: string;
  numberValue?: number;
  number_value?: number;
  boolValue?: boolean;
  bool_value?: boolean;
  listValue?: { values?: RawValue[] };
  list_value?: { values?: RawValue[] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalar(value: RawValue): string | number | boolean | undefined {
  const text = value.stringValue ?? value.string_value;
  if (typeof text === 'string') return text.length <= MAX_METADATA_STRING ? text : undefined;
  const number = value.numberValue ?? value.number_value;
  if (typeof number === 'number' && Number.isFinite(number)) return number;
  const bool = value.boolValue ?? value.bool_value;
  if (typeof bool === 'boolean') return bool;
  return undefined;
}

/** Plain metadata from a decoded Struct (`{fields: {...}}`); anything else gives {}. */
export function plainNodeMetadata(struct: unknown): Record<string, NodeMetadataValue> {
  const fields = isRecord(struct) && isRecord(struct['fields']) ? struct['fields'] : {};
  const out: Record<string, NodeMetadataValue> = {};
  for (const key of Object.keys(fields).slice(0, MAX_METADATA_KEYS)) {
    const value = fields[key];
    if (!isRecord(value) || key.length > MAX_METADATA_STRING) continue;
    const raw = value as RawValue;
    const list = raw.listValue ?? raw.list_value;
    if (list) {
      const items = (list.values ?? []).slice(0, MAX_METADATA_LIST).map(scalar);
      out[key] = items.filter((item): item is string => typeof item === 'string');
      continue;
    }
    const single = scalar(raw);
    if (single !== undefined) out[key] = single;
  }
  return out;
}
