// How registrations map onto a ClusterLoadAssignment (DESIGN.md), checked on real encodings.
import { describe, expect, it } from 'vitest';
import { clusterLoadAssignment } from '../../src/snapshot/resources/endpoint.js';
import { encodeResource } from '../../src/snapshot/encode.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { instance, snapshotOf } from '../support/snapshots.js';

type Cla = {
  endpoints: Array<{
    locality: Record<string, string>;
    priority: number;
    load_balancing_weight: { value: number };
    lb_endpoints: Array<{ health_status: string; load_balancing_weight: { value: number }; endpoint: { address: { socket_address: { port_value: number } } }; metadata?: unknown }>;
  }>;
};
const none = () => undefined;

describe('ClusterLoadAssignment', () => {
  it('groups by priority and locality, sums locality weights without draining endpoints, renumbers priorities densely', () => {
    const cla = clusterLoadAssignment(
      's',
      [
        instance('s', 'a', 1, { locality: { region: 'r', zone: 'z1' }, weight: 3 }),
        instance('s', 'b', 2, { locality: { region: 'r', zone: 'z1' }, weight: 2, status: 'draining' }),
        instance('s', 'c', 3, { locality: { region: 'r', zone: 'z2' }, priority: 5 }),
        instance('s', 'd', 4, { locality: { region: 'r', zone: 'z2' }, weight: 0, priority: 5 }),
      ],
      none,
    ) as Cla;
    expect(cla.endpoints.map((e) => [e.locality.zone, e.priority, e.load_balancing_weight.value])).toEqual([
      ['z1', 0, 3],
      ['z2', 1, 1],
    ]);
    expect(cla.endpoints[0]!.lb_endpoints.map((e) => e.health_status)).toEqual(['HEALTHY', 'DRAINING']);
    // weight 0 means draining; Envoy still needs a weight ≥ 1 on the endpoint.
    expect(cla.endpoints[1]!.lb_endpoints.map((e) => [e.health_status, e.load_balancing_weight.value])).toEqual([
      ['HEALTHY', 1],
      ['DRAINING', 1],
    ]);
  });

  it('marks a registered-unhealthy instance and a failing active probe UNHEALTHY; draining wins', () => {
    const cla = clusterLoadAssignment(
      's',
      [instance('s', 'a', 1, { status: 'unhealthy' }), instance('s', 'b', 2), instance('s', 'c', 3, { status: 'draining' })],
      (key) => (key.endsWith('/b') || key.endsWith('/c') ? 'unhealthy' : undefined),
    ) as Cla;
    expect(cla.endpoints[0]!.lb_endpoints.map((e) => e.health_status)).toEqual(['UNHEALTHY', 'UNHEALTHY', 'DRAINING']);
  });

  it('keeps one endpoint per address:port (gRPC clients NACK duplicates), preferring the healthy one', () => {
    const cla = clusterLoadAssignment(
      's',
      [instance('s', 'old', 7, { status: 'draining' }), instance('s', 'new', 7), instance('s', 'other', 8)],
      none,
    ) as Cla;
    const endpoints = cla.endpoints.flatMap((l) => l.lb_endpoints);
    expect(endpoints.map((e) => [e.endpoint.address.socket_address.port_value, e.health_status])).toEqual([
      [7, 'HEALTHY'],
      [8, 'HEALTHY'],
    ]);
  });

  it('puts metadata under filter_metadata["envoy.lb"] and gives every locality a locality message (as encoded)', () => {
    const encoded = encodeResource(TYPE_URL.endpoint, 's', clusterLoadAssignment('s', [instance('s', 'a', 1, { metadata: { version: 'v2' } })], none));
    const cla = encoded.json as Cla;
    expect(cla.endpoints[0]!.locality).toEqual({});
    expect(cla.endpoints[0]!.lb_endpoints[0]!.metadata).toEqual({ filter_metadata: { 'envoy.lb': { fields: { version: { stringValue: 'v2' } } } } });
  });

  it('derives versions from content: equal inputs, equal versions, whatever the input order', () => {
    const a = snapshotOf({ s: [instance('s', 'a', 1), instance('s', 'b', 2)] });
    const b = snapshotOf({ s: [instance('s', 'b', 2), instance('s', 'a', 1)] });
    expect(a.version).toBe(b.version);
    expect(a.resources.get(TYPE_URL.endpoint)!.get('s')!.version).toBe(b.resources.get(TYPE_URL.endpoint)!.get('s')!.version);
  });
});
