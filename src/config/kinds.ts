// The configuration kinds, and the key schema that places them under the config prefix:
//   <config-prefix>services/<service>   ServicePolicy
//   <config-prefix>gateways/<name>      Gateway
import { GATEWAY_KIND } from './gateway.js';
import { SERVICE_POLICY_KIND } from './service-policy.js';
import type { ConfigKind, ConfigKindName, Gateway, ServicePolicy } from './types.js';

export const DEFAULT_CONFIG_PREFIX = '/etcd-xds/config/';

/** A value larger than this is refused before it is parsed (etcd's own request limit is 1.5 MiB). */
export const MAX_CONFIG_VALUE_BYTES = 512 * 1024;

export const CONFIG_KINDS: { ServicePolicy: ConfigKind<ServicePolicy>; Gateway: ConfigKind<Gateway> } = {
  ServicePolicy: SERVICE_POLICY_KIND,
  Gateway: GATEWAY_KIND,
};

export const KIND_NAMES: readonly ConfigKindName[] = ['ServicePolicy', 'Gateway'];

/** A kind as people type it: `ServicePolicy`, `servicepolicy`, `service-policy`, `Gateway`: any case, dashes optional. */
export function kindNamed(text: string): ConfigKindName | undefined {
  const wanted = text.replace(/-/g, '').toLowerCase();
  return KIND_NAMES.find((k) => k.toLowerCase() === wanted);
}

export function isKindName(value: unknown): value is ConfigKindName {
  return typeof value === 'string' && (KIND_NAMES as readonly string[]).includes(value);
}

export function configKey(prefix: string, kind: ConfigKindName, name: string): string {
  return `${prefix}${CONFIG_KINDS[kind].segment}/${name}`;
}

/** The key prefix of one kind (for listing it). */
export function kindPrefix(prefix: string, kind: ConfigKindName): string {
  return `${prefix}${CONFIG_KINDS[kind].segment}/`;
}

export type ConfigKeyResult = { ok: true; kind: ConfigKindName; name: string } | { ok: false; kind?: ConfigKindName; name: string; reason: string };

export function parseConfigKey(prefix: string, key: string): ConfigKeyResult {
  if (!key.startsWith(prefix)) return { ok: false, name: '', reason: `key "${key}" is not under the config prefix "${prefix}"` };
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  const segment = slash < 0 ? rest : rest.slice(0, slash);
  const name = slash < 0 ? '' : rest.slice(slash + 1);
  const kind = KIND_NAMES.find((k) => CONFIG_KINDS[k].segment === segment);
  if (!kind) {
    const segments = KIND_NAMES.map((k) => `${CONFIG_KINDS[k].segment}/`).join(' or ');
    return { ok: false, name, reason: `key "${key}": expected ${prefix}${segments}<name>` };
  }
  const problem = CONFIG_KINDS[kind].nameProblem(name);
  if (problem) return { ok: false, kind, name, reason: `key "${key}": ${problem}` };
  return { ok: true, kind, name };
}
