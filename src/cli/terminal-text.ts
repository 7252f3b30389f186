// Text from etcd or from xDS clients, made safe for a terminal. An instance id, a rejected value or a NACK message
// can carry escape sequences (OSC 52 writes the clipboard, `ESC[1A ESC[2K` erases lines above): every control
// character is shown as a visible escape instead, so what a person reads is what is stored.

// C0 controls, DEL, C1 controls, the bidirectional overrides and isolates, and the Unicode line separators.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

function visible(char: string): string {
  const code = char.charCodeAt(0);
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every terminal control character replaced by a visible escape (`\x1b`, `\n`, `\u202e`). */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, visible);
}
