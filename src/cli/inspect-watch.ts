// `--watch` for `services` and `clients`: poll the admin API every second and show the table as it changes —
// redrawn in place on a terminal, printed again only when it changed into a pipe or file. Ctrl-C exits 0.

export const WATCH_INTERVAL_MS = 1000;

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export async function watchLoop(render: () => Promise<string>, intervalMs = WATCH_INTERVAL_MS): Promise<never> {
  const stop = (): never => process.exit(0);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const tty = process.stdout.isTTY === true;
  let last: string | undefined;
  for (;;) {
    let text: string;
    try {
      text = await render();
    } catch (err) {
      // The server may restart while someone watches: say so and keep polling.
      text = `etcd-xds: ${(err as Error).message} (retrying every ${intervalMs / 1000}s)\n`;
    }
    if (tty) {
      process.stdout.write(`${CLEAR_SCREEN}${text}\n${new Date().toLocaleTimeString()} · every ${intervalMs / 1000}s · Ctrl-C to stop\n`);
    } else if (text !== last) {
      process.stdout.write(last === undefined ? text : `\n${text}`);
    }
    last = text;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
