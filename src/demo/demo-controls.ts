// What makes the demo's moves happen: a scripted timeline (CI, pipes, --duration) or key presses at a terminal.

export type DemoMove = 'drain' | 'kill' | 'add' | 'quit';

export interface ScriptedStep {
  /** Seconds after the client's first answer. */
  atSeconds: number;
  move: DemoMove;
}

/**
 * With a duration: drain at ~1/3, kill at ~2/3, quit at the end, so every phase gets a few one-second lines.
 * Without one: drain at 10 s and kill at 20 s, then run until interrupted.
 */
export function scriptedTimeline(durationSeconds: number | undefined): ScriptedStep[] {
  if (durationSeconds === undefined) {
    return [
      { atSeconds: 10, move: 'drain' },
      { atSeconds: 20, move: 'kill' },
    ];
  }
  const drainAt = Math.max(2, Math.round(durationSeconds / 3));
  const killAt = Math.max(drainAt + 2, Math.round((durationSeconds * 2) / 3));
  const steps: ScriptedStep[] = [];
  if (drainAt < durationSeconds) steps.push({ atSeconds: drainAt, move: 'drain' });
  if (killAt < durationSeconds) steps.push({ atSeconds: killAt, move: 'kill' });
  steps.push({ atSeconds: durationSeconds, move: 'quit' });
  return steps;
}

/** Keys at a terminal. Ctrl-C arrives as a key in raw mode, not as SIGINT. */
const KEY_MOVES: Readonly<Record<string, DemoMove>> = { d: 'drain', k: 'kill', a: 'add', q: 'quit', '\u0003': 'quit' };

export const KEY_HELP = 'keys: d = drain a backend · k = kill a backend · a = add a backend · q or Ctrl-C = quit';

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
