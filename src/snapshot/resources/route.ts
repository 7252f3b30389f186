// RouteConfiguration for one service: a single virtual host that sends everything to the service's cluster.
// The route configuration is only reached through the service's own listener, so the virtual host matches any
// authority (`*`): gRPC clients dialing `xds:///svc` and `xds:///svc:port` both land on it.
import type { RouteConfiguration } from '../../generated/envoy/config/route/v3/RouteConfiguration.js';

export function routeConfiguration(service: string): RouteConfiguration {
  return {
    name: service,
    virtual_hosts: [
      {
        name: service,
        domains: ['*'],
        routes: [{ match: { prefix: '' }, route: { cluster: service } }],
      },
    ],
  };
}
