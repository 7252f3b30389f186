// The canary part of the demo's story: applying the split and rolling it back (through CanaryCommands, which run
// the real CLI), told as it happens, and what the printed seconds showed while the split held, per version.
import type { TallyWindow } from './call-tally.js';
import { describeSplit, formatPercent, type CanaryCommands, type CanaryPlan } from './canary.js';
import type { GreeterFleet } from './greeter-fleet.js';

export interface CanaryStoryOptions {
  fleet: GreeterFleet;
  canary: CanaryCommands;
  plan: CanaryPlan;
  say(line: string): void;
}

export class CanaryStory {
  /** Set at once on a move, so a second key press does not apply (or roll back) twice. */
  private wanted = false;
  /** Date.now() when the apply command finished; undefined while no split holds. */
  private since: number | undefined;
  private counts = new Map<string, number>();
  private errors = 0;
  private seconds = 0;

  constructor(private readonly options: CanaryStoryOptions) {}

  /** Applies the split; resolves when the command has finished. */
  async apply(): Promise<void> {
    const { plan, canary, say } = this.options;
    if (this.wanted) return say('>> the canary split is already applied');
    const missing = plan.split.filter((s) => s.percent > 0 && this.holders(s.value).length === 0);
    if (missing.length > 0) {
      return say(`>> not applying the canary: no serving backend has ${missing.map((s) => `${plan.key}=${s.value}`).join(', ')}, so its share would fail`);
    }
    this.wanted = true;
    const who = plan.split.map((s) => `${formatPercent(s.percent)} to ${plan.key}=${s.value} (${this.holders(s.value).join(', ') || 'none'})`);
    say(`>> canary: of the calls to ${plan.service}, ${who.join(', ')}; a ServicePolicy, applied as a user would:`);
    const applied = await canary.apply();
    if (!applied) this.wanted = false;
    if (!applied || !this.wanted) return;
    this.startCounting();
    say(`   etcd-xds pushes a cluster per ${plan.key} and a route weighted ${describeSplit(plan)}: the spread follows`);
  }

  /** Deletes the policy; resolves when the command has finished. */
  async rollBack(): Promise<void> {
    const { plan, canary, say } = this.options;
    if (!this.wanted) return say('>> no canary split to roll back');
    this.wanted = false;
    const held = this.finishCounting();
    say(`>> rolling the canary back: without its policy, ${plan.service} is round robin over every instance again`);
    if (held) say(`   ${held}`);
    await canary.rollback();
  }

  /** One printed second; counted when it began after the split was applied. */
  count(window: TallyWindow, windowStart: number): void {
    if (this.since === undefined || windowStart < this.since) return;
    this.seconds += 1;
    this.errors += window.errors;
    for (const [id, n] of window.counts) {
      const version = this.options.fleet.versionOf(id) ?? 'unversioned';
      this.counts.set(version, (this.counts.get(version) ?? 0) + n);
    }
  }

  private holders(value: string): string[] {
    const { fleet } = this.options;
    return fleet.serving().filter((b) => fleet.versionOf(b.instanceId) === value).map((b) => b.instanceId);
  }

  private startCounting(): void {
    this.since = Date.now();
    this.counts = new Map();
    this.errors = 0;
    this.seconds = 0;
  }

  /** The shares counted, in the plan's order, and stops counting; undefined when no whole second was counted. */
  private finishCounting(): string | undefined {
    const { plan } = this.options;
    const counting = this.since !== undefined;
    this.since = undefined;
    const calls = [...this.counts.values()].reduce((sum, n) => sum + n, 0);
    if (!counting || calls === 0) return undefined;
    const others = [...this.counts.keys()].filter((v) => !plan.split.some((s) => s.value === v));
    const shares = [...plan.split.map((s) => s.value), ...others].map(
      (v) => `${plan.key}=${v} ${formatPercent(Math.round((1000 * (this.counts.get(v) ?? 0)) / calls) / 10)}`,
    );
    return `while the split held (${this.seconds} s, ${calls} calls): ${shares.join(', ')}, errors ${this.errors}`;
  }
}
