import { describe, expect, it } from 'vitest';
import { VerdictTracker } from '../../src/health/verdict-tracker.js';

const ok = { ok: true } as const;
const fail = { ok: false, error: 'HTTP 500' } as const;

describe('VerdictTracker', () => {
  it('has no verdict before any probe and turns healthy on the first success', () => {
    const tracker = new VerdictTracker({ healthyThreshold: 3, unhealthyThreshold: 2 });
    expect(tracker.verdict).toBeUndefined();
    const change = tracker.record(ok);
    expect(change).toEqual({ previous: undefined, current: 'healthy', flipped: false });
    expect(tracker.consecutiveSuccesses).toBe(1);
  });

  it('keeps a new instance unjudged until unhealthyThreshold consecutive failures', () => {
    const tracker = new VerdictTracker({ healthyThreshold: 1, unhealthyThreshold: 3 });
    expect(tracker.record(fail)).toEqual({ previous: undefined, current: undefined, flipped: false });
    expect(tracker.record(fail).current).toBeUndefined();
    expect(tracker.record(fail)).toEqual({ previous: undefined, current: 'unhealthy', flipped: true });
    expect(tracker.consecutiveFailures).toBe(3);
  });

  it('a success in between resets the failure count', () => {
    const tracker = new VerdictTracker({ healthyThreshold: 1, unhealthyThreshold: 2 });
    tracker.record(ok);
    tracker.record(fail);
    tracker.record(ok);
    expect(tracker.record(fail).current).toBe('healthy');
    expect(tracker.record(fail)).toEqual({ previous: 'healthy', current: 'unhealthy', flipped: true });
  });

  it('needs healthyThreshold consecutive successes to recover', () => {
    const tracker = new VerdictTracker({ healthyThreshold: 2, unhealthyThreshold: 1 });
    expect(tracker.record(fail).current).toBe('unhealthy');
    expect(tracker.record(ok)).toEqual({ previous: 'unhealthy', current: 'unhealthy', flipped: false });
    tracker.record(fail);
    expect(tracker.record(ok).current).toBe('unhealthy');
    expect(tracker.record(ok)).toEqual({ previous: 'unhealthy', current: 'healthy', flipped: true });
    expect(tracker.consecutiveFailures).toBe(0);
  });
});
