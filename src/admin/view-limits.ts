// Bounds on what the views repeat. A client chooses its node id, user agent and NACK text, and etcd holds whatever
// was written: a view shows at most this much of each, so one 15 MB node id cannot make every page 15 MB.
import type { NodeInfo } from '../xds/types.js';

/** Node id, cluster, user agent, locality parts, client features, subscribed names, instance ids in lists. */
export const VIEW_STRING_LIMIT = 256;
/** A NACK's error_detail message and a probe error: long enough for Envoy's validation errors. */
export const VIEW_MESSAGE_LIMIT = 2048;
/** Subscribed names listed per stream and type in /debug/clients (the count is always given in full). */
export const VIEW_NAMES_LIMIT = 100;

/** `text` cut to `limit` characters with "…" appended when it was longer. */
export function capText(text: string, limit = VIEW_STRING_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

export function capOptional(text: string | undefined, limit = VIEW_STRING_LIMIT): string | undefined {
  return text === undefined ? undefined : capText(text, limit);
}

/** The first VIEW_NAMES_LIMIT names, each capped. */
export function capNames(names: readonly string[]): string[] {
  return names.slice(0, VIEW_NAMES_LIMIT).map((name) => capText(name));
}

/** A node as the views repeat it: every string capped, at most VIEW_NAMES_LIMIT client features. */
export function capNode(node: NodeInfo): NodeInfo {
  const { region, zone, subZone } = node.locality;
  return {
    id: capText(node.id),
    cluster: capText(node.cluster),
    locality: {
      ...(region !== undefined ? { region: capText(region) } : {}),
      ...(zone !== undefined ? { zone: capText(zone) } : {}),
      ...(subZone !== undefined ? { subZone: capText(subZone) } : {}),
    },
    userAgentName: capText(node.userAgentName),
    userAgentVersion: capText(node.userAgentVersion),
    clientFeatures: capNames(node.clientFeatures),
    ...(node.metadata ? { metadata: node.metadata } : {}),
  };
}
