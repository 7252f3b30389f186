// A FIFO of probes waiting for one of `concurrency` slots. Two jobs with the same key never run at once
// (a restarted instance's new probe waits for its aborted old one to settle).

export interface ProbeJob {
  /** Instance key: jobs sharing it run one after the other. */
  readonly key: string;
  run(): Promise<void>;
}

export class ProbeQueue {
  // A Set keeps insertion order and deletes in O(1), which removal of many instances needs.
  private readonly waitingJobs = new Set<ProbeJob>();
  private readonly runningKeys = new Set<string>();
  private running = 0;

  constructor(
    private readonly concurrency: number,
    private readonly onJobError: (job: ProbeJob, error: unknown) => void,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  }

  get inFlight(): number {
    return this.running;
  }

  get waiting(): number {
    return this.waitingJobs.size;
  }

  enqueue(job: ProbeJob): void {
    this.waitingJobs.add(job);
    this.pump();
  }

  /** Drops a job that has not started; returns false when it is running or unknown. */
  remove(job: ProbeJob): boolean {
    return this.waitingJobs.delete(job);
  }

  clear(): void {
    this.waitingJobs.clear();
  }

  private pump(): void {
    if (this.running >= this.concurrency) return;
    for (const job of this.waitingJobs) {
      if (this.running >= this.concurrency) return;
      if (this.runningKeys.has(job.key)) continue;
      this.waitingJobs.delete(job);
      this.start(job);
    }
  }

  private start(job: ProbeJob): void {
    this.running += 1;
    this.runningKeys.add(job.key);
    const settle = (): void => {
      this.running -= 1;
      this.runningKeys.delete(job.key);
      this.pump();
    };
    // Promise.resolve().then turns a synchronous throw from run() into a rejection, so a slot is always freed.
    Promise.resolve()
      .then(() => job.run())
      .catch((error: unknown) => {
        try {
          this.onJobError(job, error);
        } catch {
          // An error reporter that throws must not leak the slot.
        }
      })
      .then(settle);
  }
}
