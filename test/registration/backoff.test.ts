import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/registration/backoff.js';

describe('re-registration backoff', () => {
  const options = { initialMs: 200, maxMs: 5_000 };

  it('doubles from the initial delay up to the cap', () => {
    const nominal = (attempt: number) => backoffDelay(attempt, options, () => 0.999999);
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(nominal)).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('jitters each delay between half and all of its nominal value', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(800);
    expect(backoffDelay(3, options, () => 0.5)).toBe(1200);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(10, options);
      expect(delay).toBeGreaterThanOrEqual(2_500);
      expect(delay).toBeLessThanOrEqual(5_000);
    }
  });
});
