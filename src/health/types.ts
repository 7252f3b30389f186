// Shared vocabulary of the active health checker: verdicts, probe outcomes and the admin view of a probe.
import type { HealthCheckSpec } from '../registry/types.js';

export type Verdict = 'healthy' | 'unhealthy';

export type ProbeType = HealthCheckSpec['type'];

/** Checker-wide settings; a registration's healthCheck overrides all but jitterRatio. */
export interface HealthCheckDefaults {
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Each wait is intervalMs × (1 ± jitterRatio), so probes of many instances drift apart. */
  jitterRatio: number;
}

export const DEFAULT_HEALTH_CHECK: Readonly<HealthCheckDefaults> = Object.freeze({
  intervalMs: 5000,
  timeoutMs: 1000,
  healthyThreshold: 1,
  unhealthyThreshold: 2,
  jitterRatio: 0.1,
});

/** What one probe found. A probe never rejects: every failure is an outcome with a reason. */
export type ProbeOutcome = { ok: true } | { ok: false; error: string };

/**
 * One instance's probe. `run` must settle soon after `signal` aborts (the checker aborts on timeout,
 * removal and stop), so a slot of the concurrency limit is never held by a forgotten probe.
 */
export interface Probe {
  readonly type: ProbeType;
  /** Where the probe goes, for people: `10.0.0.5:8080`, `http://10.0.0.5:8080/healthz`, `grpc://[::1]:50051/svc`. */
  readonly target: string;
  run(signal: AbortSignal): Promise<ProbeOutcome>;
  /** Releases what the probe keeps between runs (a gRPC channel). */
  close(): void;
}

/** One probed instance as the admin API shows it. `null` fields mean "no probe has finished yet". */
export interface ProbeState {
  key: string;
  service: string;
  instanceId: string;
  type: ProbeType;
  target: string;
  verdict: Verdict | null;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /** ISO-8601 time the last probe finished. */
  lastProbeAt: string | null;
  lastResult: 'ok' | 'fail' | null;
  lastError?: string;
  lastLatencyMs: number | null;
  totalProbes: number;
}
