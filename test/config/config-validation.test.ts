// ServicePolicy and Gateway values are read strictly (proto3 JSON against config.proto) and checked for meaning;
// every refusal names the path of the offending value.
import { describe, expect, it } from 'vitest';
import { GATEWAY_KIND } from '../../src/config/gateway.js';
import { SERVICE_POLICY_KIND, serviceTarget } from '../../src/config/service-policy.js';
import type { ConfigError } from '../../src/config/schema.js';
import { CANARY_POLICY, FRONT_GATEWAY, FULL_POLICY } from './fixtures.js';

function errorsOf(result: { ok: true } | { ok: false; errors: ConfigError[] }): string[] {
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

describe('ServicePolicy', () => {
  it('accepts every option and normalizes proto names to JSON names', () => {
    const result = SERVICE_POLICY_KIND.parse(FULL_POLICY);
    expect(errorsOf(result)).toEqual([]);
    const snake = SERVICE_POLICY_KIND.parse({ lb_policy: 'RING_HASH', hash_header: 'x-user', outlier_detection: { consecutive_5xx: 2 } });
    expect(snake).toEqual({ ok: true, spec: { lbPolicy: 'RING_HASH', hashHeader: 'x-user', outlierDetection: { consecutive5xx: 2 } } });
  });

  it('refuses unknown fields, bad enum names and malformed durations, each at its path', () => {
    const errors = errorsOf(SERVICE_POLICY_KIND.parse({ lbPolicy: 'FASTEST', connectTimeout: '5 seconds', retry: { retryOn: '5xx', tries: 2 } }));
    expect(errors).toEqual([
      expect.stringMatching(/^lbPolicy: invalid enum value "FASTEST" .*ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM/),
      'connectTimeout: expected a duration like "1.5s", got "5 seconds"',
      expect.stringMatching(/^retry\.tries: unknown field "tries" in etcdxds\.v1\.RetryPolicy/),
    ]);
  });

  it('refuses out-of-range numbers and values of the wrong type', () => {
    const broken = clone(CANARY_POLICY) as Record<string, any>;
    broken.subsets.split[0].weight = -1;
    expect(errorsOf(SERVICE_POLICY_KIND.parse(broken))).toEqual([expect.stringMatching(/^subsets\.split\[0\]\.weight: -1 is out of range for uint32/)]);
    expect(errorsOf(SERVICE_POLICY_KIND.parse({ http2: 'yes' }))[0]).toMatch(/^http2: /);
    expect(errorsOf(SERVICE_POLICY_KIND.parse([1]))).toEqual([': expected a JSON object (etcdxds.v1.ServicePolicy)']);
  });

  it('checks meaning: split weights, subset values, ranges, durations, retry conditions', () => {
    const errors = errorsOf(
      SERVICE_POLICY_KIND.parse({
        connectTimeout: '0s',
        hashHeader: 'x-user',
        outlierDetection: { maxEjectionPercent: 150, interval: '-1s' },
        retry: { retryOn: '5xx,sometimes', numRetries: 0 },
        subsets: { key: 'version', split: [{ value: 'v1', weight: 80 }, { value: '', weight: 10 }, { value: 'v1', weight: 5 }] },
      }),
    );
    expect(errors).toEqual([
      'connectTimeout: must be greater than 0s',
      'hashHeader: only applies with lbPolicy RING_HASH',
      'outlierDetection.interval: must be ≥ 0s, got -1s',
      'outlierDetection.maxEjectionPercent: must be from 0 to 100, got 150',
      expect.stringMatching(/^retry\.retryOn: unknown retry condition "sometimes"/),
      'retry.numRetries: must be from 1 to 10, got 0',
      'subsets.split[1].value: must not be empty',
      'subsets.split[2].value: "v1" is listed twice',
      'subsets.split: weights add up to 95, must add up to 100 (or set totalWeight)',
    ]);
  });

  it('checks its own routes: subsets among the split values, one destination, match and weights', () => {
    const errors = errorsOf(
      SERVICE_POLICY_KIND.parse({
        ...CANARY_POLICY,
        routes: [
          { name: 'ok', match: { headers: [{ name: 'x-canary', exact: 'yes' }] }, subset: 'v2' },
          { name: 'ok', subset: 'v3' },
          { subset: 'v1', split: [{ value: 'v1', weight: 100 }] },
          { match: { prefix: 'x' }, split: [{ value: 'v9', weight: 50 }] },
        ],
      }),
    );
    expect(errors).toEqual([
      'routes[1].name: route "ok" is defined twice',
      'routes[1].subset: "v3" is not a value of subsets.split',
      'routes[2]: give subset or split, not both',
      'routes[3].match.prefix: must start with "/"',
      'routes[3].split[0].value: "v9" is not a value of subsets.split',
      'routes[3].split: weights add up to 50, must add up to 100 (or set totalWeight)',
    ]);
  });

  it('takes a declared total weight instead of 100', () => {
    const split = { key: 'version', split: [{ value: 'v1', weight: 999 }, { value: 'v2', weight: 1 }] };
    expect(errorsOf(SERVICE_POLICY_KIND.parse({ subsets: { ...split, totalWeight: 1000 } }))).toEqual([]);
    expect(errorsOf(SERVICE_POLICY_KIND.parse({ subsets: { ...split, totalWeight: 10 } }))).toEqual(['subsets.split: weights add up to 1000, must add up to totalWeight 10']);
  });

  it('sends a service to its weighted subset clusters, leaving out weight 0', () => {
    const parsed = SERVICE_POLICY_KIND.parse(CANARY_POLICY);
    if (!parsed.ok) throw new Error('fixture is valid');
    expect(serviceTarget('greeter', parsed.spec)).toEqual({
      weighted: [
        { cluster: 'greeter~version=v1', weight: 90 },
        { cluster: 'greeter~version=v2', weight: 10 },
      ],
    });
    const allOnV2 = SERVICE_POLICY_KIND.parse({ subsets: { key: 'version', split: [{ value: 'v1', weight: 0 }, { value: 'v2', weight: 100 }] } });
    expect(allOnV2.ok && serviceTarget('greeter', allOnV2.spec)).toEqual({ cluster: 'greeter~version=v2' });
    expect(serviceTarget('greeter', undefined)).toEqual({ cluster: 'greeter' });
  });
});

describe('Gateway', () => {
  it('accepts every kind of route', () => {
    expect(errorsOf(GATEWAY_KIND.parse(FRONT_GATEWAY))).toEqual([]);
  });

  it('reports a bad split weight at its full path', () => {
    const broken = clone(FRONT_GATEWAY) as Record<string, any>;
    broken.virtualHosts[0].routes[3].split[0].weight = -5;
    expect(errorsOf(GATEWAY_KIND.parse(broken))).toEqual([expect.stringMatching(/^virtualHosts\[0\]\.routes\[3\]\.split\[0\]\.weight: -5 is out of range for uint32/)]);
  });

  it('refuses duplicate listener ports, bad ports, duplicate domains and bad service names', () => {
    const errors = errorsOf(
      GATEWAY_KIND.parse({
        match: { nodeCluster: 'front' },
        listeners: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }, { name: 'a', port: 0 }, { name: 'd', port: 70000 }],
        virtualHosts: [
          { name: 'one', domains: ['example.com'], routes: [{ match: { prefix: 'api' }, service: 'bad name' }] },
          { name: 'two', domains: ['EXAMPLE.com', 'a*b'], routes: [{ match: {}, service: 'x', split: [{ service: 'y', weight: 100 }] }] },
        ],
      }),
    );
    expect(errors).toEqual([
      'listeners[1].port: port 80 is already used by listener "a"',
      'listeners[2].name: listener "a" is defined twice',
      'listeners[2].port: must be from 1 to 65535, got 0',
      'listeners[3].port: must be from 1 to 65535, got 70000',
      'virtualHosts[0].routes[0].match.prefix: must start with "/"',
      expect.stringMatching(/^virtualHosts\[0\]\.routes\[0\]\.service: must be a service name/),
      'virtualHosts[1].domains[0]: domain "EXAMPLE.com" is already used by virtual host "one"',
      expect.stringMatching(/^virtualHosts\[1\]\.domains\[1\]: "a\*b" is not a domain/),
      'virtualHosts[1].routes[0].match: needs one of prefix, path or grpcService',
      'virtualHosts[1].routes[0]: needs exactly one destination: service or split',
    ]);
  });

  it('refuses a gateway that matches nothing or routes nowhere, and a oneof given twice', () => {
    expect(errorsOf(GATEWAY_KIND.parse({ serviceHostRouting: true }))).toEqual(['match: is required: nodeCluster, nodeMetadata, or both']);
    expect(errorsOf(GATEWAY_KIND.parse({ match: { nodeMetadata: { role: 'edge' } } }))).toEqual([
      'virtualHosts: needs at least one virtual host, or serviceHostRouting: true',
    ]);
    const both = errorsOf(
      GATEWAY_KIND.parse({ match: { nodeCluster: 'c' }, virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', path: '/x' }, service: 's' }] }] }),
    );
    expect(both).toEqual([expect.stringMatching(/^virtualHosts\[0\]\.routes\[0\]\.match\.path: "path" conflicts with "prefix"/)]);
  });

  it('checks split totals, header matches, rewrites and added headers', () => {
    const errors = errorsOf(
      GATEWAY_KIND.parse({
        match: { nodeCluster: 'c' },
        virtualHosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [
              { match: { prefix: '/', headers: [{ name: 'x' }, { name: 'bad header', exact: 'a' }] }, split: [{ service: 'a', weight: 60 }, { service: 'b', weight: 60 }] },
              { match: { path: '/x' }, service: 's', prefixRewrite: '/y', totalWeight: 4, requestHeadersToAdd: { host: 'evil', 'x-ok': '1', 'x-split': 'a\r\nb' } },
            ],
          },
        ],
      }),
    );
    expect(errors).toEqual([
      'virtualHosts[0].routes[0].match.headers[0]: needs one of exact, prefix or present',
      'virtualHosts[0].routes[0].match.headers[1].name: must be an HTTP header name',
      'virtualHosts[0].routes[0].split: weights add up to 120, must add up to 100 (or set totalWeight)',
      'virtualHosts[0].routes[1].prefixRewrite: applies to prefix and grpcService matches, not to an exact path',
      'virtualHosts[0].routes[1].totalWeight: only applies with split',
      'virtualHosts[0].routes[1].requestHeadersToAdd.host: host cannot be set by a route',
      'virtualHosts[0].routes[1].requestHeadersToAdd["x-split"]: value must not contain NUL, CR or LF',
    ]);
  });
});
