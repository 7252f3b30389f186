import { describe, expect, it } from 'vitest';
import { ProbeQueue, type ProbeJob } from '../../src/health/probe-queue.js';

/** A job that runs until released, recording how many jobs ran at once. */
function gatedJobs(count: number, keyOf: (i: number) => string) {
  let running = 0;
  let maxRunning = 0;
  const started: number[] = [];
  const releases = new Map<number, () => void>();
  const jobs: ProbeJob[] = Array.from({ length: count }, (_, i) => ({
    key: keyOf(i),
    run: () =>
      new Promise<void>((resolve) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        started.push(i);
        releases.set(i, () => {
          running -= 1;
          resolve();
        });
      }),
  }));
  const release = async (i: number): Promise<void> => {
    releases.get(i)?.();
    // Let the queue's settle handlers and the next job's start run.
    for (let n = 0; n < 5; n += 1) await Promise.resolve();
  };
  return { jobs, started, release, maxRunning: () => maxRunning };
}

const tick = async (): Promise<void> => {
  for (let n = 0; n < 5; n += 1) await Promise.resolve();
};

describe('ProbeQueue', () => {
  it('runs at most `concurrency` jobs, in arrival order', async () => {
    const queue = new ProbeQueue(2, () => {});
    const { jobs, started, release, maxRunning } = gatedJobs(5, (i) => `k${i}`);
    for (const job of jobs) queue.enqueue(job);
    await tick();
    expect(started).toEqual([0, 1]);
    expect(queue.inFlight).toBe(2);
    expect(queue.waiting).toBe(3);
    await release(1);
    expect(started).toEqual([0, 1, 2]);
    for (const i of [0, 2, 3, 4]) await release(i);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(maxRunning()).toBe(2);
    expect(queue.inFlight).toBe(0);
  });

  it('never runs two jobs of the same key at once, letting other keys pass', async () => {
    const queue = new ProbeQueue(4, () => {});
    const { jobs, started, release } = gatedJobs(3, (i) => (i < 2 ? 'same' : 'other'));
    for (const job of jobs) queue.enqueue(job);
    await tick();
    expect(started).toEqual([0, 2]);
    await release(0);
    expect(started).toEqual([0, 2, 1]);
  });

  it('drops removed jobs that have not started', async () => {
    const queue = new ProbeQueue(1, () => {});
    const { jobs, started, release } = gatedJobs(3, (i) => `k${i}`);
    for (const job of jobs) queue.enqueue(job);
    await tick();
    expect(queue.remove(jobs[0]!)).toBe(false);
    expect(queue.remove(jobs[1]!)).toBe(true);
    await release(0);
    expect(started).toEqual([0, 2]);
  });

  it('frees the slot and reports when a job throws', async () => {
    const errors: unknown[] = [];
    const queue = new ProbeQueue(1, (_job, error) => errors.push(error));
    let ran = false;
    queue.enqueue({
      key: 'a',
      run: () => {
        throw new Error('boom');
      },
    });
    queue.enqueue({ key: 'b', run: async () => void (ran = true) });
    await tick();
    await tick();
    expect(errors).toHaveLength(1);
    expect(ran).toBe(true);
    expect(queue.inFlight).toBe(0);
  });

  it('rejects a concurrency below 1', () => {
    expect(() => new ProbeQueue(0, () => {})).toThrow(/concurrency/);
  });
});
