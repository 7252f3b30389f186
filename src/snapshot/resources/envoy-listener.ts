// Listener for an Envoy node: a socket listener on 0.0.0.0:<port> whose HttpConnectionManager takes its routes from
// RDS over ADS and ends with the Router filter. Never an api_listener: Envoy accepts those only from its bootstrap.
import type { Listener } from '../../generated/envoy/config/listener/v3/Listener.js';
import type { HttpConnectionManager } from '../../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import type { Router } from '../../generated/envoy/extensions/filters/http/router/v3/Router.js';
import { packAny } from '../encode.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';

/** Stat prefixes may not hold ":" or "/" meaningfully in Envoy's stats names: keep them to safe characters. */
function statPrefixOf(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function envoyHttpListener(name: string, port: number, routeConfigName: string): Listener {
  return {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: packAny<HttpConnectionManager>(HCM, {
              stat_prefix: statPrefixOf(name),
              codec_type: 'AUTO',
              rds: { route_config_name: routeConfigName, config_source: { ads: {}, resource_api_version: 'V3' } },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny<Router>(ROUTER, {}) }],
            }),
          },
        ],
      },
    ],
  };
}
