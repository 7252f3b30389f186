// At the default level (info) an operator sees each proxy connect, once per stream, and each NACK at warn; client
// strings are cut before they reach the log.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { XdsServer } from '../../src/xds/server.js';
import { LOGGED_NODE_ID_CHARS } from '../../src/xds/wire.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { SteppedSource } from './stepped-source.js';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

describe('xDS logs at the default level', () => {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const source = new SteppedSource(2);
  let server: XdsServer;
  let address: string;

  beforeAll(async () => {
    // createLogger's default level is info: the same as here.
    server = new XdsServer({ source, logger: pino({ level: 'info' }, sink) });
    address = await server.listen('127.0.0.1:0');
  });
  afterAll(async () => {
    await server?.close(100);
  });

  it('logs a connecting proxy once at info (node id cut), and a NACK at warn with type, version and message', async () => {
    const longId = `proxy-${'i'.repeat(3000)}`;
    const stream = new AdsTestStream(address, 'sotw');
    try {
      stream.send({ node: { ...NODE, id: longId, user_agent_name: 'envoy', user_agent_version: '1.30' }, type_url: TYPE_URL.cluster, resource_names: [] });
      const cds = await stream.next();
      stream.send({ type_url: TYPE_URL.endpoint, resource_names: ['svc-0'] });
      const eds = await stream.next();
      stream.send({ type_url: TYPE_URL.cluster, resource_names: [], response_nonce: cds.nonce, version_info: cds.version });
      stream.send({ type_url: TYPE_URL.endpoint, resource_names: ['svc-0'], response_nonce: eds.nonce, error_detail: { code: 3, message: `bad endpoint ${'e'.repeat(5000)}` } });
      const nack = await eventually(async () => lines.find((l) => l.msg.startsWith('NACK')), (l) => l !== undefined, 'the NACK log line');
      expect(nack).toMatchObject({ level: 40, type: TYPE_URL.endpoint, version: eds.version });
      expect(String(nack!.error).startsWith('bad endpoint eee')).toBe(true);
      expect(String(nack!.error).length).toBeLessThan(1100);
      const connected = lines.filter((l) => l.msg === 'proxy connected');
      expect(connected).toHaveLength(1);
      expect(connected[0]).toMatchObject({ level: 30, cluster: NODE.cluster, userAgent: 'envoy 1.30', protocol: 'sotw', api: 'ads' });
      expect(String(connected[0]!.node).startsWith('proxy-iii')).toBe(true);
      expect(String(connected[0]!.node).length).toBeLessThan(LOGGED_NODE_ID_CHARS + 20);
      expect(lines.every((l) => !JSON.stringify(l).includes(longId))).toBe(true);
    } finally {
      stream.close();
    }
  });
});
