// Configuration values and registrations shared by the config tests: a canary policy with every option set, and a
// gateway that uses every kind of route.
import type { Instance } from '../../src/registry/types.js';
import { instance } from '../support/snapshots.js';

export const CANARY_POLICY = {
  lbPolicy: 'ROUND_ROBIN',
  connectTimeout: '0.25s',
  requestTimeout: '2s',
  retry: { retryOn: '5xx,unavailable', numRetries: 2, perTryTimeout: '0.5s' },
  subsets: { key: 'version', split: [{ value: 'v1', weight: 90 }, { value: 'v2', weight: 10 }] },
};

export const FULL_POLICY = {
  ...CANARY_POLICY,
  circuitBreakers: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 50, maxRetries: 3 },
  outlierDetection: { consecutive5xx: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
  http2: true,
};

export const FRONT_GATEWAY = {
  match: { nodeCluster: 'front' },
  listeners: [{ name: 'web', port: 8080 }, { name: 'admin', port: 8081 }],
  serviceHostRouting: true,
  virtualHosts: [
    {
      name: 'site',
      domains: ['example.com', '*.example.com'],
      routes: [
        { name: 'canary-header', match: { prefix: '/', headers: [{ name: 'x-canary', exact: 'yes' }] }, split: [{ service: 'greeter', subset: 'v2', weight: 100 }] },
        { name: 'grpc', match: { grpcService: 'helloworld.Greeter' }, service: 'greeter', timeout: '1s' },
        { name: 'exact', match: { path: '/healthz', headers: [{ name: 'x-debug', present: true }, { name: 'x-env', prefix: 'prod' }] }, service: 'hello-http' },
        {
          name: 'api',
          match: { prefix: '/api/' },
          split: [{ service: 'hello-http', weight: 3 }, { service: 'greeter', subset: 'v1', weight: 1 }],
          totalWeight: 4,
          prefixRewrite: '/',
          retry: { retryOn: 'connect-failure,reset' },
          requestHeadersToAdd: { 'x-gateway': 'front', 'x-api': '1' },
        },
      ],
    },
  ],
};

export function registrations(): Map<string, Instance[]> {
  return new Map([
    [
      'greeter',
      [
        instance('greeter', 'a', 50051, { address: '10.0.0.1', metadata: { version: 'v1', protocol: 'grpc' } }),
        instance('greeter', 'b', 50051, { address: '10.0.0.2', metadata: { version: 'v1', protocol: 'grpc' } }),
        instance('greeter', 'c', 50051, { address: '10.0.0.3', metadata: { version: 'v2', protocol: 'grpc' } }),
      ],
    ],
    ['hello-http', [instance('hello-http', 'a', 8080, { address: '10.0.1.1' })]],
    ['billing', [instance('billing', 'a', 9000, { address: '10.0.2.1' })]],
  ]);
}
