// What `etcd-xds config apply --dry-run` prints: for each group of nodes that a set of configuration objects
// reaches, the resources that group would receive, as proto3 JSON. The groups are:
//   - per gateway in the set: the Envoys it matches (default port);
//   - when the set holds service policies: Envoys without a gateway, shown scoped to the affected services (an
//     unscoped Envoy receives the same resources for them, beside those of every other service), and proxyless
//     gRPC clients, shown for the affected services.
import { servicesRoutedBy } from '../config/gateway.js';
import type { ConfigView } from '../config/types.js';
import type { HealthVerdict } from '../snapshot/resources/endpoint.js';
import { TYPE_URL } from '../snapshot/types.js';
import type { Instance } from '../registry/types.js';
import { DEFAULT_LISTENER_PORT, viewKeyOf, type ViewSpec } from './node-view.js';
import { toProto3Json } from './proto3-json.js';
import { resourcesFor, type ViewResources } from './view-resources.js';

export interface PreviewInput {
  /** The configuration the nodes would see (current objects with the previewed ones applied). */
  config: ConfigView;
  /** Names of the previewed objects. */
  policies: readonly string[];
  gateways: readonly string[];
  services: ReadonlyMap<string, readonly Instance[]>;
  verdictOf?: (key: string) => HealthVerdict | undefined;
  port?: number;
}

export interface PreviewGroup {
  /** Which nodes, in words. */
  nodes: string;
  view: ViewSpec;
  key: string;
  problems: string[];
  /** type URL → resources as proto3 JSON, in name order. */
  resources: Record<string, Record<string, unknown>[]>;
}

function asJson(resources: ViewResources): Record<string, Record<string, unknown>[]> {
  const typed: [string, Map<string, object>][] = [
    [TYPE_URL.listener, resources.listeners],
    [TYPE_URL.route, resources.routes],
    [TYPE_URL.cluster, resources.clusters],
    [TYPE_URL.endpoint, resources.endpoints],
  ];
  return Object.fromEntries(
    typed.map(([typeUrl, messages]) => [
      typeUrl,
      [...messages.keys()].sort().map((name) => toProto3Json(typeUrl, messages.get(name)!)),
    ]),
  );
}

export function previewGroups(input: PreviewInput): PreviewGroup[] {
  const port = input.port ?? DEFAULT_LISTENER_PORT;
  const verdictOf = input.verdictOf ?? (() => undefined);
  const groups: PreviewGroup[] = [];
  const build = (nodes: string, view: ViewSpec, services: ReadonlyMap<string, readonly Instance[]>): void => {
    const resources = resourcesFor(view, { services, verdictOf, config: input.config });
    groups.push({ nodes, view, key: viewKeyOf(view), problems: resources.problems, resources: asJson(resources) });
  };
  for (const gateway of [...input.gateways].sort()) {
    build(`Envoy nodes matched by gateway ${gateway}`, { client: 'envoy', port, gateway }, input.services);
  }
  if (input.policies.length > 0) {
    const affected = new Set(input.policies);
    for (const gateway of input.gateways) {
      const spec = input.config.gateways.get(gateway)?.spec;
      if (spec) for (const service of servicesRoutedBy(spec)) affected.add(service);
    }
    const dependsOn = [...affected].filter((s) => input.services.has(s)).sort();
    build('Envoy nodes without a gateway (shown for the affected services)', { client: 'envoy', port, dependsOn }, input.services);
    const scoped = new Map([...input.services].filter(([service]) => affected.has(service)));
    build('proxyless gRPC clients (shown for the affected services)', { client: 'grpc', port: 0 }, scoped);
  }
  return groups;
}
