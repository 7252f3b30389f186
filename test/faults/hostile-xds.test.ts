// Malformed and hostile xDS traffic against the real server: garbage bytes and HTTP/2 frames on the port, gRPC
// messages that are not protobuf, unknown type URLs, a huge NACK error_detail, requests before any node, a 1 MB
// node id, and 10,000 streams opened and closed in batches. A well-behaved client keeps receiving every change, the
// server forgets every closed stream, and the heap returns near its baseline.
import http2 from 'node:http2';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { createEtcdClient } from '../../src/registry/etcd-client.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { EdsWatch } from '../support/eds-watch.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { Random } from './prng.js';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const SERVICE = 'hostile-xds';
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_202);
const MiB = 1 << 20;

let etcd: TestEtcd;
let client: Etcd3;
let cp: TestControlPlane;
let watch: EdsWatch;
let port = 30_000;

// vitest runs files in workers without --expose-gc; V8 still lets a process turn it on and fetch gc from a context.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** A new instance reaches the well-behaved client: the server still serves. */
async function expectStillServing(after: string): Promise<void> {
  const p = ++port;
  await client.put(`/services/${SERVICE}/i${p}`).value(`10.0.0.1:${p}`);
  await watch.waitFor((a) => a.endpoints.some((e) => e.port === p), `port ${p} after ${after}`);
  const fresh = new AdsTestStream(cp.xdsAddress, 'sotw');
  fresh.send({ node: { ...NODE, id: 'fresh' }, type_url: TYPE_URL.endpoint, resource_names: [SERVICE] });
  const response = await fresh.next(10_000);
  fresh.close();
  expect(response.resources.map((r) => r.name), after).toEqual([SERVICE]);
}

/** The frame types in a byte stream from the server (HTTP/2 frames after its SETTINGS), as far as it is complete. */
function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) types.push(bytes[at + 3]!);
  return types;
}

const GOAWAY = 0x7;

/**
 * Writes `bytes` on a raw TCP connection to the xDS port; resolves once the server has closed the connection or
 * sent GOAWAY (then the test closes it), rejects when it does neither.
 */
function rawConnection(bytes: Buffer): Promise<'closed' | 'goaway'> {
  const at = cp.xdsAddress.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = net.connect(Number(cp.xdsAddress.slice(at + 1)), cp.xdsAddress.slice(0, at), () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server neither closed the connection nor sent GOAWAY after ${bytes.length} garbage bytes`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!frameTypes(received).includes(GOAWAY)) return;
      clearTimeout(timer);
      socket.destroy();
      resolve('goaway');
    });
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

function frame(type: number, flags: number, streamId: number, payload: Buffer, declaredLength = payload.length): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(declaredLength, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** One HTTP/2 request on the ADS path with the given headers and body; resolves with status and grpc-status. */
function http2Request(headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<{ status: number; grpcStatus: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${cp.xdsAddress}`);
    session.on('error', () => {});
    const req = session.request({ ':method': 'POST', ':path': ADS_PATH, ...headers });
    let status = 0;
    let grpcStatus: string | undefined;
    req.on('response', (h) => {
      status = Number(h[':status']);
      grpcStatus ??= h['grpc-status'] as string | undefined;
    });
    req.on('trailers', (t) => (grpcStatus = t['grpc-status'] as string | undefined));
    req.on('data', () => {});
    req.on('error', () => {});
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no answer to a malformed request (${JSON.stringify(headers)})`));
    }, 10_000);
    req.on('close', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, grpcStatus });
    });
    req.end(body);
  });
}

const DiscoveryRequest = (): ReturnType<typeof envoyType> => envoyType('envoy.service.discovery.v3.DiscoveryRequest');
const encodeRequest = (request: Record<string, unknown>): Buffer =>
  Buffer.from(DiscoveryRequest().encode(DiscoveryRequest().fromObject(request)).finish());

/** A bidirectional ADS call carrying raw bytes, so a test can send messages that are not DiscoveryRequests. */
function rawCall(channel: grpc.Client): grpc.ClientDuplexStream<Buffer, Buffer> {
  return channel.makeBidiStreamRequest(ADS_PATH, (b: Buffer) => b, (b: Buffer) => b);
}

beforeAll(async () => {
  etcd = await startTestEtcd();
  client = createEtcdClient(etcd.endpoint);
  await client.delete().prefix('/services/');
  await client.put(`/services/${SERVICE}/i0`).value('10.0.0.1:30000');
  cp = await startTestControlPlane(etcd, { healthChecks: false });
  watch = new EdsWatch(cp.xdsAddress, SERVICE);
  await watch.waitFor((a) => a.endpoints.length === 1, 'the first instance');
});

afterAll(async () => {
  watch?.close();
  await cp?.plane.close();
  await client?.delete().prefix('/services/');
  client?.close();
  await etcd?.close();
});

describe('hostile xDS clients', () => {
  it('closes connections carrying garbage bytes and malformed HTTP/2 frames, and keeps serving', async () => {
    const r = new Random(SEED);
    const garbage: Buffer[] = [
      r.bytes(64),
      r.bytes(64 * 1024),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.concat([PREFACE, r.bytes(512)]),
      Buffer.concat([PREFACE, frame(0x4, 0, 0, r.bytes(7))]), // SETTINGS with a length not a multiple of 6
      Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0)), frame(0x0, 0, 0, r.bytes(16))]), // DATA on stream 0
      Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0)), frame(0x1, 0x4, 1, r.bytes(200))]), // HEADERS, garbage HPACK
      Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0)), frame(0x0, 0, 1, Buffer.alloc(0), 0xffffff)]), // oversized frame
      Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0)), frame(0x8, 0, 0, Buffer.from([0, 0, 0, 0]))]), // zero window update
      Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0)), frame(0xfa, 0xff, 3, r.bytes(100)), r.bytes(300)]), // unknown type
    ];
    const outcomes: string[] = [];
    for (const bytes of garbage) outcomes.push(await rawConnection(bytes));
    await expectStillServing('garbage connections');

    // Malformed gRPC over valid HTTP/2: each request is answered, with a status, and ended by the server.
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(0xffffffff, 1); // a message claiming 4 GiB
    const compressed = Buffer.concat([Buffer.from([1, 0, 0, 0, 4]), r.bytes(4)]); // "compressed", no grpc-encoding
    const truncated = Buffer.from([0, 0, 0, 1, 0, 1, 2]); // declares 65,536 bytes, sends 2
    const answers = [
      await http2Request({ 'content-type': 'application/grpc', te: 'trailers' }, huge),
      await http2Request({ 'content-type': 'application/grpc', te: 'trailers' }, compressed),
      await http2Request({ 'content-type': 'application/grpc', te: 'trailers' }, truncated),
      await http2Request({ 'content-type': 'text/plain' }, r.bytes(100)),
      await http2Request({ 'content-type': 'application/grpc', 'grpc-encoding': 'zstd-from-mars', te: 'trailers' }, compressed),
    ];
    // grpc-js's answers: too large, compressed without an encoding, (a truncated last message is dropped and the
    // call ends), not gRPC, unknown encoding.
    expect(answers.map((a) => a.grpcStatus ?? `http ${a.status}`)).toEqual([
      String(grpc.status.RESOURCE_EXHAUSTED),
      String(grpc.status.INTERNAL),
      String(grpc.status.OK),
      'http 415',
      String(grpc.status.UNIMPLEMENTED),
    ]);
    await expectStillServing('malformed gRPC requests');
    console.log(`garbage connections: ${outcomes.join(', ')}; malformed gRPC answers: ${JSON.stringify(answers)}`);
  });

  it('survives messages that are not DiscoveryRequests, unknown types, nodeless requests, a huge NACK and a 1 MB node id', async () => {
    const r = new Random(SEED + 1);
    const channel = new grpc.Client(cp.xdsAddress, grpc.credentials.createInsecure());
    // Random bytes as messages: whatever the server makes of them, it must not fall over.
    for (let i = 0; i < 20; i++) {
      const call = rawCall(channel);
      call.on('data', () => {});
      call.on('error', () => {});
      for (let j = 0; j < 5; j++) call.write(r.bytes(1 + r.int(4_096)));
      call.end();
    }
    channel.close();

    // Requests before any node, an unknown type URL, then a proper request on the same stream: answered.
    const stream = new AdsTestStream(cp.xdsAddress, 'sotw');
    stream.send({ type_url: TYPE_URL.endpoint, resource_names: [SERVICE] });
    const nodeless = await stream.next(10_000);
    expect(nodeless.resources.map((res) => res.name)).toEqual([SERVICE]);
    stream.send({ node: NODE, type_url: 'type.googleapis.com/no.such.Type', resource_names: ['x'] });
    stream.send({ type_url: '', resource_names: [] });
    stream.send({ type_url: TYPE_URL.cluster, resource_names: [] });
    const clusters = await stream.next(10_000);
    expect(clusters.typeUrl).toBe(TYPE_URL.cluster);

    // A NACK with a 4 MiB error_detail, then an ACK: the stream keeps working.
    stream.send({
      type_url: TYPE_URL.cluster,
      response_nonce: clusters.nonce,
      version_info: '',
      resource_names: [],
      error_detail: { code: 3, message: 'e'.repeat(4 * MiB) },
    });
    const nackLength = (): number =>
      Math.max(0, ...cp.plane.xds.streamInfos().map((info) => info.types.get(TYPE_URL.cluster)?.lastNack?.message.length ?? 0));
    await expect.poll(nackLength, { timeout: 10_000 }).toBeGreaterThan(0);
    const clients = await fetch(`${cp.adminUrl}/debug/clients`);
    expect(clients.status).toBe(200);
    const clientsBytes = (await clients.arrayBuffer()).byteLength;
    const nackKept = nackLength();
    stream.close();

    // A 1 MB node id: refused or served, the server goes on.
    const bigNode = new AdsTestStream(cp.xdsAddress, 'sotw');
    bigNode.send({ node: { ...NODE, id: 'n'.repeat(MiB) }, type_url: TYPE_URL.endpoint, resource_names: [SERVICE] });
    const outcome = await bigNode.next(10_000).then(
      () => 'served',
      () => `refused: ${bigNode.error?.message ?? 'no answer'}`,
    );
    const page = await fetch(`${cp.adminUrl}/`);
    expect(page.status).toBe(200);
    const pageBytes = (await page.arrayBuffer()).byteLength;
    bigNode.close();
    console.log(`hostile xDS: a 4 MiB NACK was kept as ${nackKept} characters, /debug/clients was ${clientsBytes} bytes; a 1 MB node id was ${outcome}; the admin page was ${pageBytes} bytes`);
    await expectStillServing('hostile messages');
  });

  it('forgets 10,000 streams opened and closed in batches, and the heap returns near its baseline', async () => {
    // Only the well-behaved client's stream is left once the earlier tests' hostile streams are gone.
    const baselineStreams = 1;
    await expect.poll(() => cp.plane.xds.streamInfos().length, { timeout: 20_000 }).toBe(baselineStreams);
    const baselineHeap = heapUsed();
    // In-process, so this is client and server work together: an upper bound of the server's stalls.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const request = encodeRequest({ node: { ...NODE, id: 'storm' }, type_url: TYPE_URL.endpoint, resource_names: [SERVICE] });
    // Each batch on its own connection (grpc-js would otherwise share one with the well-behaved client).
    const newChannel = (): grpc.Client => new grpc.Client(cp.xdsAddress, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const TOTAL = 10_000;
    const BATCH = 500;
    let answered = 0;
    let peakStreams = 0;
    const unanswered: string[] = [];
    for (let opened = 0; opened < TOTAL; opened += BATCH) {
      const channel = newChannel();
      await Promise.all(
        Array.from({ length: BATCH }, (_, i) => {
          const n = opened + i;
          const call = rawCall(channel);
          call.on('error', () => {}); // cancelled on purpose
          // A quarter close before asking anything; the rest wait for their answer, then end or cancel.
          if (n % 4 === 0) {
            call.cancel();
            return Promise.resolve();
          }
          return new Promise<void>((resolve) => {
            let gotData = false;
            call.once('data', () => {
              gotData = true;
              answered++;
              if (n % 2 === 0) call.end();
              else call.cancel();
              resolve();
            });
            call.once('status', (status: grpc.StatusObject) => {
              if (!gotData) unanswered.push(`${status.code} ${status.details}`);
              resolve();
            }); // ended by the server before answering: counted as unanswered
            call.write(request);
          });
        }),
      );
      peakStreams = Math.max(peakStreams, cp.plane.xds.streamInfos().length);
      channel.close();
    }
    await expect.poll(() => cp.plane.xds.streamInfos().length, { timeout: 20_000 }).toBe(baselineStreams);
    loopDelay.disable();
    const afterHeap = heapUsed();
    await expectStillServing('10,000 streams');
    const mib = (n: number): string => (n / MiB).toFixed(1);
    console.log(
      `stream storm: ${TOTAL} streams (${answered} answered), peak ${peakStreams} open after a batch, back to ${baselineStreams}; ` +
        `heap ${mib(baselineHeap)} MiB before, ${mib(afterHeap)} MiB after (gc); ` +
        `longest event-loop delay during the storm ${(loopDelay.max / 1e6).toFixed(0)} ms`,
    );
    expect(unanswered).toEqual([]);
    expect(answered).toBe((TOTAL * 3) / 4);
    // Generous: the test process also holds the client side, vitest and etcd3; a leak of 10,000 streams is more.
    expect(afterHeap - baselineHeap).toBeLessThan(24 * MiB);
  }, 120_000);
});
