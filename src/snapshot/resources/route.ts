// RouteConfiguration for one service: a single virtual host that sends everything to the service's cluster.
// The route configuration is only reached through the service's own listener, so the virtual host matches any
// authority (`*`): gRPC clients dialing `xds:///svc` and `xds:///svc:port` both land on it.

export function routeConfiguration(service: string): Record<string, unknown> {
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
