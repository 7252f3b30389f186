// Envoy messages as proto3 JSON, the form Envoy's own config loader and the strict validator read: durations as
// "1.5s", wrappers as bare values, Anys as {"@type": ..., fields}, Structs as plain JSON, field names as in the
// .proto. protobufjs's toObject() gives none of these, so its output is rewritten with the message's reflection.
// The message goes through its wire encoding first, so what is shown is exactly what a client decodes.
import protobuf from 'protobufjs';
import { envoyType, findEnvoyType } from '../protos/envoy-protos.js';

const TYPE_URL_PREFIX = 'type.googleapis.com/';
const WRAPPERS = new Set(['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((k) => `.google.protobuf.${k}Value`));
const WRAPPER_DEFAULTS: Record<string, unknown> = {
  '.google.protobuf.BoolValue': false,
  '.google.protobuf.StringValue': '',
  '.google.protobuf.BytesValue': '',
  '.google.protobuf.Int64Value': '0',
  '.google.protobuf.UInt64Value': '0',
};

type Plain = Record<string, unknown>;

function isRecord(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function durationText(value: Plain): string {
  const seconds = BigInt(String(value['seconds'] ?? '0'));
  const nanos = BigInt(Number(value['nanos'] ?? 0));
  const total = seconds * 1_000_000_000n + nanos;
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const whole = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}s`;
}

function structValue(value: Plain): unknown {
  if ('nullValue' in value || 'null_value' in value) return null;
  for (const key of ['numberValue', 'number_value', 'stringValue', 'string_value', 'boolValue', 'bool_value']) if (key in value) return value[key];
  const struct = value['structValue'] ?? value['struct_value'];
  if (isRecord(struct)) return structFields(struct);
  const list = value['listValue'] ?? value['list_value'];
  if (isRecord(list)) return ((list['values'] as Plain[] | undefined) ?? []).map(structValue);
  return null;
}

function structFields(value: Plain): Plain {
  const fields = isRecord(value['fields']) ? value['fields'] : {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, structValue(v as Plain)]));
}

function anyJson(value: Plain): Plain {
  const typeUrl = String(value['type_url'] ?? '');
  const lookup = findEnvoyType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  if ('missing' in lookup) throw new Error(`cannot show Any of ${typeUrl}: ${lookup.missing}`);
  const bytes = Buffer.from(String(value['value'] ?? ''), 'base64');
  const inner = messageJson(lookup.type, lookup.type.toObject(lookup.type.decode(bytes), { longs: String, enums: String, bytes: String }));
  return isRecord(inner) ? { '@type': typeUrl, ...inner } : { '@type': typeUrl, value: inner };
}

function singleJson(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  return resolved instanceof protobuf.Type && isRecord(value) ? messageJson(resolved, value) : value;
}

/** A toObject() result of `type` as proto3 JSON. */
function messageJson(type: protobuf.Type, value: Plain): unknown {
  const name = type.fullName;
  if (name === '.google.protobuf.Duration') return durationText(value);
  if (WRAPPERS.has(name)) return value['value'] ?? WRAPPER_DEFAULTS[name] ?? 0;
  if (name === '.google.protobuf.Any') return anyJson(value);
  if (name === '.google.protobuf.Struct') return structFields(value);
  if (name === '.google.protobuf.Value') return structValue(value);
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    if (!(field.name in value)) continue;
    const fieldValue = value[field.name];
    if (field.map && isRecord(fieldValue)) {
      out[field.name] = Object.fromEntries(Object.entries(fieldValue).map(([k, v]) => [k, singleJson(field, v)]));
    } else if (field.repeated && Array.isArray(fieldValue)) {
      out[field.name] = fieldValue.map((item) => singleJson(field, item));
    } else {
      out[field.name] = singleJson(field, fieldValue);
    }
  }
  return out;
}

/** Encodes a message (as the builders produce it) and returns what a client decodes, as proto3 JSON. */
export function toProto3Json(typeName: string, message: object): Plain {
  const type = envoyType(typeName.replace(TYPE_URL_PREFIX, ''));
  const bytes = type.encode(type.fromObject(message as Plain)).finish();
  const plain = type.toObject(type.decode(bytes), { longs: String, enums: String, bytes: String });
  return messageJson(type, plain) as Plain;
}
