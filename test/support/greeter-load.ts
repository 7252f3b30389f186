// Steady traffic from a Greeter client: sequential calls with a short pause between them, each one recorded with
// its start and end time and who answered (or why it failed), so tests can check what happened during a change.
import type { HelloReply } from '../../src/demo/greeter.js';
import { sleep } from './eventually.js';

export interface GreeterCaller {
  sayHello(name: string, deadlineMs?: number): Promise<HelloReply>;
}

export interface CallRecord {
  /** Date.now() before the call was made and after it settled. */
  startedAt: number;
  endedAt: number;
  /** The instance that answered; undefined when the call failed. */
  instanceId?: string;
  error?: string;
}

export class GreeterLoad {
  readonly calls: CallRecord[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly greeter: GreeterCaller,
    private readonly pauseMs = 20,
    private readonly deadlineMs = 3_000,
  ) {}

  start(): void {
    if (this.running) throw new Error('GreeterLoad already running');
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the call in flight settles. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  failures(): CallRecord[] {
    return this.calls.filter((c) => c.error !== undefined);
  }

  /** Calls answered by `instanceId` that started at or after `since`. */
  answeredBy(instanceId: string, since = 0): CallRecord[] {
    return this.calls.filter((c) => c.instanceId === instanceId && c.startedAt >= since);
  }

  private async run(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const startedAt = Date.now();
      try {
        const reply = await this.greeter.sayHello(`load ${i}`, this.deadlineMs);
        this.calls.push({ startedAt, endedAt: Date.now(), instanceId: reply.instance_id });
      } catch (err) {
        this.calls.push({ startedAt, endedAt: Date.now(), error: (err as Error).message });
      }
      await sleep(this.pauseMs);
    }
  }
}
