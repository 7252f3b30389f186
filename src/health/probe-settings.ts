// From an instance and its healthCheck spec to what the checker runs: timing, thresholds and the probe.
import { MAX_HEALTH_TIMING_MS } from '../registry/registration-rules.js';
import type { HealthCheckSpec, Instance } from '../registry/types.js';
import { grpcProbe } from './grpc-probe.js';
import { httpProbe } from './http-probe.js';
import { tcpProbe } from './tcp-probe.js';
import type { HealthCheckDefaults, Probe } from './types.js';

export interface ProbeSettings {
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  address: string;
  /** spec.port when given, else the instance's port. */
  port: number;
}

export function resolveProbeSettings(instance: Instance, spec: HealthCheckSpec, defaults: HealthCheckDefaults): ProbeSettings {
  return {
    // The registry rejects longer values; the cap keeps any other source from overflowing Node's timers.
    intervalMs: Math.min(positive(spec.intervalMs, defaults.intervalMs), MAX_HEALTH_TIMING_MS),
    timeoutMs: Math.min(positive(spec.timeoutMs, defaults.timeoutMs), MAX_HEALTH_TIMING_MS),
    healthyThreshold: Math.floor(positive(spec.healthyThreshold, defaults.healthyThreshold)),
    unhealthyThreshold: Math.floor(positive(spec.unhealthyThreshold, defaults.unhealthyThreshold)),
    address: instance.address,
    port: spec.port ?? instance.port,
  };
}

/**
 * A string that changes exactly when the probe must restart: kind, destination, or any spec field.
 * Weight, status or metadata changes leave it alone, so the instance keeps its counters and verdict.
 */
export function probeIdentity(instance: Instance, spec: HealthCheckSpec): string {
  const specFields = Object.entries(spec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([instance.address, instance.port, specFields]);
}

export function createProbe(spec: HealthCheckSpec, settings: ProbeSettings): Probe {
  switch (spec.type) {
    case 'tcp':
      return tcpProbe(settings.address, settings.port);
    case 'http':
      return httpProbe(settings.address, settings.port, { path: spec.path, expectedStatus: spec.expectedStatus });
    case 'grpc':
      return grpcProbe(settings.address, settings.port, {
        service: spec.service,
        maxReconnectBackoffMs: settings.intervalMs,
      });
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}
