// The demo once everything runs: one spread line per second, and the moves (drain, kill, add) from the scripted
// timeline or from key presses, each told as it happens. Resolves when the story ends (timeline, key or stop).
import { formatSpreadLine, type CallTally } from './call-tally.js';
import { KEY_HELP, readKeyMoves, scriptedTimeline, type DemoMove } from './demo-controls.js';
import type { GreeterFleet } from './greeter-fleet.js';

export interface StoryOptions {
  fleet: GreeterFleet;
  tally: CallTally;
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
    const plan = steps.map((s) => (s.move === 'quit' ? `end at ${s.atSeconds} s` : `${s.move} one backend at ${s.atSeconds} s`));
    say(`timeline: ${plan.join(', ')}${options.durationSeconds === undefined ? ', then run until Ctrl-C' : ''}`);
  }

  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  options.stop.addEventListener('abort', finish, { once: true });
  if (options.stop.aborted) finish();

  const perform = (move: DemoMove): void => (move === 'quit' ? finish() : performMove(move, options));
  const timers = new Set<NodeJS.Timeout>();
  // One line per second, aimed at whole seconds since the first answer so the lines do not drift.
  let second = 1;
  const nextTick = (): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      options.print(formatSpreadLine(second, orderedIds(fleet.all().map((b) => b.instanceId), options.tally.instances()), options.tally.take()));
      second += 1;
      nextTick();
    }, startedAt + second * 1000 - Date.now());
    timers.add(timer);
  };
  nextTick();
  // A little after the second's line, so a move is printed below the line it follows.
  for (const step of steps) timers.add(setTimeout(() => perform(step.move), startedAt + step.atSeconds * 1000 + 50 - Date.now()));
  const stopKeys = options.keys ? readKeyMoves(options.keys, perform) : undefined;

  try {
    await finished;
  } finally {
    options.stop.removeEventListener('abort', finish);
    stopKeys?.();
    for (const timer of timers) clearTimeout(timer);
  }
}

function performMove(move: Exclude<DemoMove, 'quit'>, options: StoryOptions): void {
  const { fleet, say } = options;
  if (move === 'add') {
    void fleet.add().then(
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
