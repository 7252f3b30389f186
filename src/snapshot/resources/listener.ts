// Listener for proxyless gRPC clients (`xds:///<service>`): an api_listener whose HttpConnectionManager takes its
// routes from RDS over ADS and ends with the Router filter (gRPC C-core NACKs an empty filter list).
import type { Listener } from '../../generated/envoy/config/listener/v3/Listener.js';
import type { HttpConnectionManager } from '../../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import type { Router } from '../../generated/envoy/extensions/filters/http/router/v3/Router.js';
import { packAny } from '../encode.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';

/** The Router filter has no settings: its Any is the same for every listener. */
let routerFilter: { name: string; typed_config: ReturnType<typeof packAny> } | undefined;

export function apiListener(service: string): Listener {
  routerFilter ??= { name: 'envoy.filters.http.router', typed_config: packAny<Router>(ROUTER, {}) };
  return {
    name: service,
    api_listener: {
      api_listener: packAny<HttpConnectionManager>(HCM, {
        stat_prefix: service,
        rds: { route_config_name: service, config_source: { ads: {}, resource_api_version: 'V3' } },
        http_filters: [routerFilter],
      }),
    },
  };
}
