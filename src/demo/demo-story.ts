// The demo once everything runs: one spread line per second, and the moves (canary split and rollback, drain, kill,
// add) from the scripted timeline or from key presses, each told as it happens. Resolves when the story ends
// (timeline, key or stop).
import { formatSpreadLine, type CallTally } from './call-tally.js';
import type { CanaryCommands, CanaryPlan } from './canary.js';
import { CanaryStory } from './canary-story.js';
import { KEY_HELP, readKeyMoves, scriptedTimeline, type DemoMove } from './demo-controls.js';
import type { GreeterFleet } from './greeter-fleet.js';

export interface StoryOptions {
  fleet: GreeterFleet;
  tally: CallTally;
  canary: CanaryCommands;
  plan: CanaryPlan;
  /** Date.now() of the client's first answer: second 0 of the story. */
  startedAt: number;
  durationSeconds?: number;
  keys?: NodeJS.ReadStream;
  drainSeconds: number;
  ttlSeconds: number;
  stop: AbortSignal;
  print(line: string): void;
  say(line: string): void;
}

/** Plays the story until it ends; always stops its timers and the key reader before resolving. */
export async function playStory(options: StoryOptions): Promise<void> {
  const { fleet, say, startedAt } = options;
  const steps = options.keys ? [] : scriptedTimeline(options.durationSeconds);
  if (options.keys) say(KEY_HELP);
  else {
    const plan = steps.map((s) => `${STEP_NAMES[s.move]} at ${s.atSeconds} s`);
    say(`timeline: ${plan.join(', ')}${options.durationSeconds === undefined ? ', then run until Ctrl-C' : ''}`);
  }

  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  options.stop.addEventListener('abort', finish, { once: true });
  if (options.stop.aborted) finish();

  const canary = new CanaryStory(options);
  const perform = (move: DemoMove): Promise<void> =>
    move === 'quit' ? Promise.resolve(finish()) : performMove(move, options, canary).catch((err: Error) => say(`>> ${move} failed: ${err.message}`));
  const timers = new Set<NodeJS.Timeout>();
  let ended = false;
  /** Resolves at `time` (Date.now() scale); never, once the story has ended. */
  const until = (time: number): Promise<void> =>
    new Promise((resolve) => {
      if (ended) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, time - Date.now());
      timers.add(timer);
    });
  // One line per second, aimed at whole seconds since the first answer so the lines do not drift.
  let second = 1;
  const nextTick = (): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      const window = options.tally.take();
      options.print(formatSpreadLine(second, orderedIds(fleet.all().map((b) => b.instanceId), options.tally.instances()), window));
      canary.count(window, startedAt + (second - 1) * 1000);
      second += 1;
      nextTick();
    }, startedAt + second * 1000 - Date.now());
    timers.add(timer);
  };
  nextTick();
  void (async () => {
    let previousDone: number | undefined;
    // Seconds the timeline runs late: a slow move shifts every later one, so each phase keeps its length.
    let late = 0;
    for (const step of steps) {
      // Its time, and afterPreviousSeconds whole seconds after the second in which the move before finished (a move
      // made just after a line belongs to that line's second). Moves come a little after the second's line, so a
      // move is printed below the line it follows.
      const finishedIn = previousDone === undefined ? 0 : Math.ceil((previousDone - startedAt - MOVE_OFFSET_MS * 2) / 1000);
      const at = Math.max(step.atSeconds + late, finishedIn + step.afterPreviousSeconds);
      late = at - step.atSeconds;
      await until(startedAt + at * 1000 + MOVE_OFFSET_MS);
      await perform(step.move);
      previousDone = Date.now();
    }
  })();
  const stopKeys = options.keys ? readKeyMoves(options.keys, (move) => void perform(move)) : undefined;

  try {
    await finished;
  } finally {
    ended = true;
    options.stop.removeEventListener('abort', finish);
    stopKeys?.();
    for (const timer of timers) clearTimeout(timer);
  }
}

/** How long after a second's line a scripted move is made. */
const MOVE_OFFSET_MS = 50;

const STEP_NAMES: Readonly<Record<DemoMove, string>> = {
  canary: 'apply the canary split',
  rollback: 'roll it back',
  drain: 'drain one backend',
  kill: 'kill one backend',
  add: 'add one backend',
  quit: 'end',
};

/** Makes a move and tells it; resolves when what it started has finished (a command run), or at once. */
async function performMove(move: Exclude<DemoMove, 'quit'>, options: StoryOptions, canary: CanaryStory): Promise<void> {
  const { fleet, say } = options;
  if (move === 'canary') return canary.apply();
  if (move === 'rollback') return canary.rollBack();
  if (move === 'add') {
    await fleet.add().then(
      (b) => say(`>> started ${b.instanceId} on ${b.address}:${b.port}: it registers itself; clients add it when etcd-xds pushes the new endpoints`),
      (err: Error) => say(`>> could not start a backend: ${err.message}`),
    );
    return;
  }
  const serving = fleet.serving();
  if (move === 'drain') {
    const drained = fleet.drainOne();
    if (!drained) return say(`>> not draining ${serving[0]?.instanceId ?? 'anything'}: keeping the last serving backend`);
    const id = drained.backend.instanceId;
    say(`>> draining ${id}: the SDK marks it "draining" in etcd, clients stop sending it new calls, its key goes in ${options.drainSeconds} s`);
    void drained.done.then(() => say(`   ${id} drained: key deleted, server stopped`));
    return;
  }
  const killed = fleet.killOne();
  if (!killed) return say(`>> not killing ${serving[0]?.instanceId ?? 'anything'}: keeping the last serving backend`);
  say(
    `>> killing ${killed.instanceId} (a crash): its connections drop, so clients route around it at once; ` +
      `etcd deletes its key when its ${options.ttlSeconds} s lease expires`,
  );
}

/** The fleet's ids first (start order), then any other instance that answered (say, one started by hand). */
function orderedIds(fleetIds: readonly string[], seen: readonly string[]): string[] {
  return [...fleetIds, ...seen.filter((id) => !fleetIds.includes(id))];
}
