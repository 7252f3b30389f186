// Thresholds over consecutive probe results: the only place that decides a verdict.
import type { ProbeOutcome, Verdict } from './types.js';

export interface VerdictThresholds {
  /** Consecutive successes that turn an unhealthy instance healthy again. */
  healthyThreshold: number;
  /** Consecutive failures that turn a healthy (or not yet judged) instance unhealthy. */
  unhealthyThreshold: number;
}

/** What recording one outcome did to the verdict. `flipped` is true only between healthy and unhealthy. */
export interface VerdictChange {
  previous: Verdict | undefined;
  current: Verdict | undefined;
  flipped: boolean;
}

export class VerdictTracker {
  private verdictValue: Verdict | undefined;
  private successes = 0;
  private failures = 0;

  constructor(private readonly thresholds: VerdictThresholds) {}

  /** undefined until the first success or the first `unhealthyThreshold` failures. */
  get verdict(): Verdict | undefined {
    return this.verdictValue;
  }

  get consecutiveSuccesses(): number {
    return this.successes;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  record(outcome: ProbeOutcome): VerdictChange {
    const previous = this.verdictValue;
    if (outcome.ok) {
      this.successes += 1;
      this.failures = 0;
      // A new instance is healthy until proven otherwise, so its first success confirms that at once;
      // only an unhealthy one has to earn healthyThreshold successes.
      if (previous !== 'unhealthy' || this.successes >= this.thresholds.healthyThreshold) this.verdictValue = 'healthy';
    } else {
      this.failures += 1;
      this.successes = 0;
      if (this.failures >= this.thresholds.unhealthyThreshold) this.verdictValue = 'unhealthy';
    }
    const current = this.verdictValue;
    const flipped = (previous === 'unhealthy') !== (current === 'unhealthy');
    return { previous, current, flipped };
  }
}
