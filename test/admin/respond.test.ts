// Large admin responses go out row by row: the text is exactly JSON.stringify's, rows are built only as they are
// written, and a client that goes away stops the work.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonRows, writeJson } from '../../src/admin/respond.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(body: () => unknown): Promise<{ port: number; finished: Promise<void>[] }> {
  const finished: Promise<void>[] = [];
  server = createServer((_req, res) => {
    finished.push(writeJson(res, 200, body()));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as AddressInfo).port, finished };
}

function row(i: number): Record<string, unknown> {
  return { name: `svc-${i}`, nested: { list: [i, `${i}`], empty: {}, none: null }, text: 'x'.repeat(200) };
}

describe('writeJson', () => {
  it('writes the same text as JSON.stringify(body, null, 2), lists expanded row by row', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => row(i));
    const plain = { revision: '7', skipped: undefined, empty: [], page: { items: rows, more: [] as unknown[] }, nextCursor: null };
    const { port } = await serve(() => ({ ...plain, page: { items: new JsonRows(rows), more: new JsonRows([]) } }));
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await response.text();
    expect(text.length).toBeGreaterThan(3 * 64 * 1024);
    expect(text).toBe(JSON.stringify(plain, null, 2) + '\n');
  });

  it('builds rows only as they are written, and stops when the client goes away', async () => {
    const total = 50_000;
    let built = 0;
    const lazy = function* (): Generator<Record<string, unknown>> {
      for (let i = 0; i < total; i += 1) {
        built += 1;
        yield row(i);
      }
    };
    const { port, finished } = await serve(() => ({ rows: new JsonRows(lazy()) }));
    const socket = connect(port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.destroy();
    await expect.poll(() => finished.length).toBe(1);
    await finished[0];
    expect(built).toBeGreaterThan(0);
    expect(built).toBeLessThan(total);
  });
});
