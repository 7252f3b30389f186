// What makes the demo's moves happen: a scripted timeline (CI, pipes, --duration) or key presses at a terminal.

export type DemoMove = 'canary' | 'rollback' | 'drain' | 'kill' | 'add' | 'quit';

export interface ScriptedStep {
  /** Seconds after the client's first answer. */
  atSeconds: number;
  move: DemoMove;
  /**
   * And at least this many whole seconds after the one in which the move before it finished: a move that runs a
   * command (the canary's) can take a while on a busy machine, and the phase after it still gets its printed seconds.
   */
  afterPreviousSeconds: number;
}

/**
 * The scripted moves in order: each at a share of the duration, at least `gap` seconds after the one before, and
 * `afterPrevious` whole seconds after the one before has finished.
 */
const SCRIPT: readonly { move: Exclude<DemoMove, 'add' | 'quit'>; share: number; gap: number; afterPrevious: number }[] = [
  { move: 'canary', share: 1 / 6, gap: 2, afterPrevious: 0 },
  // The split gets the longest phase: its spread needs a few hundred calls to read as 90/10, so it holds for at least
  // three whole printed seconds after the apply command has finished.
  { move: 'rollback', share: 1 / 2, gap: 4, afterPrevious: 3 },
  // After the rollback and one round-robin second, so the canary instance drains out once it has no share of its own.
  { move: 'drain', share: 2 / 3, gap: 2, afterPrevious: 1 },
  { move: 'kill', share: 5 / 6, gap: 2, afterPrevious: 1 },
];
/** The end comes at its time, once the move before it has finished. */
const QUIT_AFTER_PREVIOUS = 0;

/** Without a duration: a move every 8 s, then run until interrupted. */
const UNTIMED_STEP_SECONDS = 8;

/**
 * With a duration: the canary at ~1/6 and its rollback at ~1/2, a drain at ~2/3, a kill at ~5/6, quit at the end, so
 * every phase gets a few one-second lines; moves that do not fit before the end are left out.
 * Without one: the same moves 8 s apart, then run until interrupted. A slow move shifts those after it (and the end).
 */
export function scriptedTimeline(durationSeconds: number | undefined): ScriptedStep[] {
  if (durationSeconds === undefined) {
    return SCRIPT.map((step, i) => ({ atSeconds: (i + 1) * UNTIMED_STEP_SECONDS, move: step.move, afterPreviousSeconds: step.afterPrevious }));
  }
  const steps: ScriptedStep[] = [];
  let previous = 0;
  for (const step of SCRIPT) {
    const at = Math.max(previous + step.gap, Math.round(durationSeconds * step.share));
    if (at >= durationSeconds) break;
    steps.push({ atSeconds: at, move: step.move, afterPreviousSeconds: step.afterPrevious });
    previous = at;
  }
  steps.push({ atSeconds: durationSeconds, move: 'quit', afterPreviousSeconds: QUIT_AFTER_PREVIOUS });
  return steps;
}

/** Keys at a terminal. Ctrl-C arrives as a key in raw mode, not as SIGINT. */
const KEY_MOVES: Readonly<Record<string, DemoMove>> = { c: 'canary', r: 'rollback', d: 'drain', k: 'kill', a: 'add', q: 'quit', '\u0003': 'quit' };

export const KEY_HELP =
  'keys: c = apply the canary split · r = roll it back · d = drain a backend · k = kill a backend · a = add a backend · q or Ctrl-C = quit';

/** Reads single key presses from a TTY and reports the moves they name. Returns the function that stops reading. */
export function readKeyMoves(input: NodeJS.ReadStream, onMove: (move: DemoMove) => void): () => void {
  input.setRawMode(true);
  input.setEncoding('utf8');
  const onData = (chunk: string): void => {
    for (const key of chunk) {
      const move = KEY_MOVES[key.toLowerCase()];
      if (move) onMove(move);
    }
  };
  input.on('data', onData);
  input.resume();
  return () => {
    input.off('data', onData);
    input.setRawMode(false);
    input.pause();
  };
}
