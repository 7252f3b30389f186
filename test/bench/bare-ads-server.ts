// The transport floor: a bare grpc-js server on the ADS service that writes one pre-encoded DiscoveryResponse
// (bytes captured from etcd-xds) to every stream, with nothing else on the path. Run as a child of the bench,
// driven by JSON lines on stdin: {"load": "<base64>"} sets the bytes (answered "loaded"), {"push": n} writes them
// to every open stream (answered "pushed n"). Each stream's first request is answered with the bytes at once.
// It exits when stdin closes, so it never outlives the bench.
import * as grpc from '@grpc/grpc-js';
import { createInterface } from 'node:readline';

// Bytes in, bytes out: no protos loaded, no request decoded, so the floor holds nothing but grpc-js itself.
const identity = (bytes: Buffer) => bytes;
const passThrough: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

let payload: Buffer | undefined;
const streams = new Set<grpc.ServerDuplexStream<unknown, Buffer>>();

const server = new grpc.Server({ 'grpc.max_send_message_length': 256 * 1024 * 1024 });
server.addService(passThrough, {
  StreamAggregatedResources(call: grpc.ServerDuplexStream<unknown, Buffer>) {
    let first = true;
    call.on('data', () => {
      if (!first) return;
      first = false;
      streams.add(call);
      if (payload) call.write(payload);
    });
    const forget = () => streams.delete(call);
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('error', forget);
    call.on('cancelled', forget);
  },
});

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bare server: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ listening: `127.0.0.1:${port}` })}\n`);
});

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const command = JSON.parse(line) as { load?: string; push?: number };
  if (command.load !== undefined) {
    payload = Buffer.from(command.load, 'base64');
    process.stdout.write('loaded\n');
  } else if (command.push !== undefined && payload) {
    for (const call of streams) call.write(payload);
    process.stdout.write(`pushed ${command.push}\n`);
  }
});
commands.on('close', () => {
  server.forceShutdown();
  process.exit(0);
});
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
