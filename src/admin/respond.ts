// Writing admin responses. Large bodies go out in chunks: each list item is serialized on its own, and between
// chunks the writer waits for the socket to drain (when write() says its buffer is full) or yields the event loop
// with setImmediate, so one big response never holds up xDS traffic or other admin requests.
import type { ServerResponse } from 'node:http';

/** Bytes gathered before a chunk is written and the event loop is given back. */
const CHUNK_BYTES = 64 * 1024;

/** A list whose items are serialized (and, when lazy, built) one at a time by writeJson. */
export class JsonRows {
  constructor(readonly rows: Iterable<unknown>) {}
}

export const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function indented(value: unknown, pad: string): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${pad}`);
}

/**
 * The pieces of `JSON.stringify(value, null, 2)`, with JsonRows expanded item by item. Plain objects are walked
 * only to find JsonRows; anything else is stringified whole.
 */
function* jsonPieces(value: unknown, pad: string): Generator<string> {
  if (value instanceof JsonRows) {
    let first = true;
    for (const row of value.rows) {
      yield `${first ? '[' : ','}\n${pad}  ${indented(row, `${pad}  `)}`;
      first = false;
    }
    yield first ? '[]' : `\n${pad}]`;
    return;
  }
  if (!isPlainObject(value)) {
    yield indented(value, pad);
    return;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) {
    yield '{}';
    return;
  }
  for (let i = 0; i < entries.length; i += 1) {
    const [key, child] = entries[i]!;
    yield `${i === 0 ? '{' : ','}\n${pad}  ${JSON.stringify(key)}: `;
    yield* jsonPieces(child, `${pad}  `);
  }
  yield `\n${pad}}`;
}

/** Resolves when the socket can take more (after a full buffer drained) or the response ended early. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Writes text pieces in chunks of about CHUNK_BYTES, stopping if the client went away. */
export async function writeChunked(response: ServerResponse, pieces: Iterable<string>): Promise<void> {
  let chunk = '';
  for (const piece of pieces) {
    chunk += piece;
    if (chunk.length < CHUNK_BYTES) continue;
    const roomLeft = response.write(chunk);
    chunk = '';
    if (response.destroyed) return;
    await (roomLeft ? nextTurn() : drained(response));
    if (response.destroyed) return;
  }
  response.end(chunk);
}

/** A JSON response; JsonRows anywhere among its plain objects are written row by row. */
export async function writeJson(response: ServerResponse, status: number, body: unknown): Promise<void> {
  response.writeHead(status, JSON_HEADERS);
  await writeChunked(response, (function* () {
    yield* jsonPieces(body, '');
    yield '\n';
  })());
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, JSON_HEADERS);
  response.end(JSON.stringify(body, null, 2) + '\n');
}

export function sendError(response: ServerResponse, status: number, error: string): void {
  sendJson(response, status, { error });
}
