// Active health checks: probes every instance whose registration carries a healthCheck and keeps a verdict per
// instance key, which the snapshot stage overlays (an unhealthy verdict publishes the endpoint as UNHEALTHY).
//
// Scheduling: each instance has one timer. Its first probe comes after a random fraction of the interval (so a
// thousand instances appearing at once do not probe at once); the next is armed only when a probe settles, after
// intervalMs × (1 ± jitterRatio). Probes wait in one queue for `concurrency` slots, and each is aborted after
// timeoutMs. So per instance there is never more than one probe queued or in flight.
import type { Logger } from '../logger.js';
import type { HealthCheckSpec, Instance, RegistryView } from '../registry/types.js';
import { describeError } from './probe-address.js';
import { ProbeQueue, type ProbeJob } from './probe-queue.js';
import { createProbe, probeIdentity, resolveProbeSettings, type ProbeSettings } from './probe-settings.js';
import {
  DEFAULT_HEALTH_CHECK,
  type HealthCheckDefaults,
  type Probe,
  type ProbeOutcome,
  type ProbeState,
  type Verdict,
} from './types.js';
import { VerdictTracker } from './verdict-tracker.js';

export type { HealthCheckDefaults, ProbeState, Verdict } from './types.js';

export interface HealthCheckerOptions {
  logger: Logger;
  /** Probes in flight at most, across all instances. */
  concurrency?: number;
  defaults?: Partial<HealthCheckDefaults>;
}

/** Receives the keys whose "is unhealthy" answer changed. */
export type VerdictChangeListener = (changedKeys: ReadonlySet<string>) => void;

/** One probed instance. A restart replaces the whole object, so late results of the old one are ignored. */
interface ProbedInstance {
  readonly key: string;
  readonly service: string;
  readonly instanceId: string;
  readonly identity: string;
  readonly settings: ProbeSettings;
  readonly probe: Probe;
  readonly tracker: VerdictTracker;
  stopped: boolean;
  timer?: NodeJS.Timeout;
  queuedJob?: ProbeJob;
  /** The running probe's abort handle and the timer that aborts it after timeoutMs. */
  inFlight?: { controller: AbortController; timeout: NodeJS.Timeout };
  totalProbes: number;
  lastProbeAt: string | null;
  lastResult: 'ok' | 'fail' | null;
  lastError?: string;
  lastLatencyMs: number | null;
}

export class HealthChecker {
  private readonly logger: Logger;
  private readonly defaults: HealthCheckDefaults;
  private readonly queue: ProbeQueue;
  private readonly instances = new Map<string, ProbedInstance>();
  /** service → keys of its probed instances. */
  private readonly keysByService = new Map<string, Set<string>>();
  private readonly listeners = new Set<VerdictChangeListener>();
  private stopped = false;

  constructor(options: HealthCheckerOptions) {
    this.logger = options.logger.child({ component: 'health' });
    // Fields given as undefined fall back to the default instead of erasing it.
    const given = Object.entries(options.defaults ?? {}).filter(([, value]) => value !== undefined);
    this.defaults = { ...DEFAULT_HEALTH_CHECK, ...(Object.fromEntries(given) as Partial<HealthCheckDefaults>) };
    const { jitterRatio } = this.defaults;
    if (!(jitterRatio >= 0 && jitterRatio < 1)) throw new Error(`jitterRatio must be in [0, 1), got ${jitterRatio}`);
    this.queue = new ProbeQueue(options.concurrency ?? 16, (job, error) =>
      this.logger.error({ key: job.key, err: describeError(error) }, 'health probe job failed'),
    );
  }

  /**
   * Follows the registry: starts probing instances that carry a healthCheck, stops probing the others, and
   * restarts (fresh counters, no verdict) an instance whose address, port or healthCheck changed. With
   * `changedServices`, only those services are looked at (a change costs its services, not the fleet).
   */
  update(view: RegistryView, changedServices?: ReadonlySet<string>): void {
    if (this.stopped) return;
    const changed = new Set<string>();
    const services = changedServices ?? new Set([...view.services.keys(), ...this.keysByService.keys()]);
    for (const service of services) {
      const seen = new Set<string>();
      for (const instance of view.services.get(service)?.values() ?? []) {
        if (!instance.healthCheck) continue;
        seen.add(instance.key);
        const identity = probeIdentity(instance, instance.healthCheck);
        const existing = this.instances.get(instance.key);
        if (existing?.identity === identity) continue;
        if (existing) {
          if (existing.tracker.verdict === 'unhealthy') changed.add(existing.key);
          this.stopProbing(existing);
          this.logger.info({ key: instance.key }, 'health check restarted: address, port or spec changed');
        }
        this.startProbing(instance, instance.healthCheck, identity);
      }
      for (const key of this.keysByService.get(service) ?? []) {
        if (seen.has(key)) continue;
        const probed = this.instances.get(key);
        if (!probed) continue;
        if (probed.tracker.verdict === 'unhealthy') changed.add(key);
        this.stopProbing(probed);
        this.instances.delete(key);
      }
      if (seen.size > 0) this.keysByService.set(service, seen);
      else this.keysByService.delete(service);
    }
    this.emit(changed);
  }

  /** The service an actively checked instance belongs to (to re-derive only that service on a verdict change). */
  serviceOf(key: string): string | undefined {
    return this.instances.get(key)?.service;
  }

  /** undefined: not checked, or no verdict yet (a new instance counts as healthy until proven otherwise). */
  verdict(key: string): Verdict | undefined {
    return this.instances.get(key)?.tracker.verdict;
  }

  verdicts(): ReadonlyMap<string, Verdict> {
    const result = new Map<string, Verdict>();
    for (const [key, probed] of this.instances) {
      const verdict = probed.tracker.verdict;
      if (verdict) result.set(key, verdict);
    }
    return result;
  }

  probeStates(): ProbeState[] {
    return [...this.instances.values()].map((probed) => ({
      key: probed.key,
      service: probed.service,
      instanceId: probed.instanceId,
      type: probed.probe.type,
      target: probed.probe.target,
      verdict: probed.tracker.verdict ?? null,
      consecutiveSuccesses: probed.tracker.consecutiveSuccesses,
      consecutiveFailures: probed.tracker.consecutiveFailures,
      lastProbeAt: probed.lastProbeAt,
      lastResult: probed.lastResult,
      ...(probed.lastError !== undefined ? { lastError: probed.lastError } : {}),
      lastLatencyMs: probed.lastLatencyMs,
      totalProbes: probed.totalProbes,
    }));
  }

  /** Probes running now and probes waiting for a slot (for metrics). */
  get load(): { inFlight: number; waiting: number } {
    return { inFlight: this.queue.inFlight, waiting: this.queue.waiting };
  }

  /**
   * Called with the keys whose `verdict(key) === 'unhealthy'` answer changed: a flip either way, or an
   * unhealthy instance that was restarted or is no longer checked. A first success of a new instance is not
   * a change (it was already treated as healthy). Returns the unsubscribe function.
   */
  onChange(listener: VerdictChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Clears every timer and aborts running probes; nothing probes afterwards and update() is ignored. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const probed of this.instances.values()) this.stopProbing(probed);
    this.instances.clear();
    this.keysByService.clear();
    this.queue.clear();
    this.listeners.clear();
  }

  private startProbing(instance: Instance, spec: HealthCheckSpec, identity: string): void {
    const settings = resolveProbeSettings(instance, spec, this.defaults);
    const probed: ProbedInstance = {
      key: instance.key,
      service: instance.service,
      instanceId: instance.instanceId,
      identity,
      settings,
      probe: createProbe(spec, settings),
      tracker: new VerdictTracker(settings),
      stopped: false,
      totalProbes: 0,
      lastProbeAt: null,
      lastResult: null,
      lastLatencyMs: null,
    };
    this.instances.set(instance.key, probed);
    this.arm(probed, Math.random() * settings.intervalMs);
  }

  private stopProbing(probed: ProbedInstance): void {
    probed.stopped = true;
    clearTimeout(probed.timer);
    probed.timer = undefined;
    if (probed.queuedJob) this.queue.remove(probed.queuedJob);
    probed.queuedJob = undefined;
    if (probed.inFlight) {
      clearTimeout(probed.inFlight.timeout);
      probed.inFlight.controller.abort(new Error('probe stopped'));
      probed.inFlight = undefined;
    }
    probed.probe.close();
  }

  private arm(probed: ProbedInstance, delayMs: number): void {
    if (probed.stopped || this.stopped) return;
    probed.timer = setTimeout(() => {
      try {
        probed.timer = undefined;
        if (probed.stopped) return;
        const job: ProbeJob = { key: probed.key, run: () => this.runProbe(probed) };
        probed.queuedJob = job;
        this.queue.enqueue(job);
      } catch (error) {
        this.logger.error({ key: probed.key, err: describeError(error) }, 'health probe scheduling failed');
      }
    }, delayMs);
  }

  private async runProbe(probed: ProbedInstance): Promise<void> {
    probed.queuedJob = undefined;
    if (probed.stopped) return;
    const { timeoutMs, intervalMs } = probed.settings;
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    probed.inFlight = { controller, timeout };
    const startedAt = performance.now();
    let outcome: ProbeOutcome;
    try {
      outcome = await probed.probe.run(controller.signal);
    } catch (error) {
      outcome = { ok: false, error: describeError(error) };
    } finally {
      clearTimeout(timeout);
      probed.inFlight = undefined;
    }
    if (probed.stopped) return;
    try {
      this.record(probed, outcome, performance.now() - startedAt);
    } finally {
      const jitter = this.defaults.jitterRatio * (2 * Math.random() - 1);
      this.arm(probed, intervalMs * (1 + jitter));
    }
  }

  private record(probed: ProbedInstance, outcome: ProbeOutcome, latencyMs: number): void {
    probed.totalProbes += 1;
    probed.lastProbeAt = new Date().toISOString();
    probed.lastResult = outcome.ok ? 'ok' : 'fail';
    probed.lastError = outcome.ok ? undefined : outcome.error;
    probed.lastLatencyMs = Math.round(latencyMs * 10) / 10;
    const change = probed.tracker.record(outcome);
    if (!change.flipped) return;
    const context = { key: probed.key, service: probed.service, instanceId: probed.instanceId, target: probed.probe.target };
    if (change.current === 'unhealthy') {
      const reason = outcome.ok ? 'unknown' : outcome.error;
      this.logger.warn({ ...context, reason, consecutiveFailures: probed.tracker.consecutiveFailures }, 'instance unhealthy');
    } else {
      const reason = `${probed.tracker.consecutiveSuccesses} consecutive successful probe(s)`;
      this.logger.info({ ...context, reason }, 'instance healthy again');
    }
    this.emit(new Set([probed.key]));
  }

  private emit(changed: ReadonlySet<string>): void {
    if (changed.size === 0 || this.stopped) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(changed);
      } catch (error) {
        this.logger.error({ err: describeError(error) }, 'health change listener threw');
      }
    }
  }
}
