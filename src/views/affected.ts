// Which views a change reaches, so that a configuration or registry change rebuilds and pushes only those.
import { servicesRoutedBy } from '../config/gateway.js';
import type { ConfigChange, ConfigView } from '../config/types.js';
import type { ViewSpec } from './node-view.js';

/**
 * True when the resources of `view` depend on service `service` (its instances or its ServicePolicy):
 * proxyless views hold every service; an Envoy view holds the services in its scope and those its gateway routes to.
 */
export function viewIncludesService(view: ViewSpec, service: string, config: ConfigView): boolean {
  if (view.client === 'grpc') return true;
  const gateway = view.gateway !== undefined ? config.gateways.get(view.gateway)?.spec : undefined;
  if (gateway && servicesRoutedBy(gateway).includes(service)) return true;
  const hostRouting = gateway ? gateway.serviceHostRouting === true : true;
  return hostRouting && (view.dependsOn === undefined || view.dependsOn.includes(service));
}

/**
 * True when a configuration change can alter what `view` receives. A Gateway change also moves nodes between
 * views (a node may start or stop matching it): after one, ask nodeView() again for every Envoy node.
 */
export function viewAffectedBy(view: ViewSpec, change: ConfigChange, config: ConfigView): boolean {
  if (change.kind === 'Gateway') return view.client === 'envoy' && view.gateway === change.name;
  return viewIncludesService(view, change.name, config);
}
