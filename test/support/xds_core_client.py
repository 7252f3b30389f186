"""A proxyless gRPC client on gRPC C-core (Debian's python3-grpcio): calls etcdxds.v1.Greeter/SayHello on an
xds:/// target and prints, as JSON, how many calls each instance answered and the status codes of the calls that
failed. The bootstrap comes from GRPC_XDS_BOOTSTRAP. Messages are encoded by hand (two string fields) so no
generated code is needed.

usage: xds_core_client.py TARGET CALLS [--metadata KEY=VALUE]... [--timeout SECONDS] [--warmup N] [--until PREFIX:RUN]
  --metadata  request metadata on every counted call (header-matched routes, x-delay-ms)
  --timeout   the application's deadline per call (default 10 s)
  --warmup    plain calls made first and not counted, so the channel has resolved and connected: a route's
              timeout counts from the start of a call, resolution included
  --until     after the warmup, print "ready" and call until RUN consecutive calls are answered by instances whose
              id starts with PREFIX (CALLS bounds the calls); then print the counts and the seconds from "ready"
"""
import argparse
import json
import sys
import time

import grpc


def encode_request(name: str) -> bytes:
    data = name.encode()
    return b"\x0a" + bytes([len(data)]) + data  # HelloRequest.name = 1 (short names only)


def decode_varint(buf: bytes, pos: int):
    shift = value = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def instance_id(reply: bytes) -> str:
    pos = 0
    while pos < len(reply):
        key, pos = decode_varint(reply, pos)
        length, pos = decode_varint(reply, pos)  # every HelloReply field is a string
        if key >> 3 == 2:
            return reply[pos : pos + length].decode()
        pos += length
    return ""


def metadata_pair(text: str):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.lower(), value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("calls", type=int)
    parser.add_argument("--metadata", type=metadata_pair, action="append", default=[])
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--until", default=None)
    args = parser.parse_args()
    prefix, _, run = (args.until or "").partition(":")
    counts: dict = {}
    codes: dict = {}
    errors = []
    with grpc.insecure_channel(args.target) as channel:
        say_hello = channel.unary_unary("/etcdxds.v1.Greeter/SayHello")
        for i in range(args.warmup):
            say_hello(encode_request(f"warmup {i}"), timeout=10)
        started = time.monotonic()
        if args.until:
            print("ready", flush=True)  # the caller changes the configuration now
        streak = 0
        for i in range(args.calls):
            try:
                reply = say_hello(encode_request(f"call {i}"), timeout=args.timeout, metadata=args.metadata)
                who = instance_id(reply)
                counts[who] = counts.get(who, 0) + 1
                streak = streak + 1 if args.until and who.startswith(prefix) else 0
            except grpc.RpcError as err:
                streak = 0
                codes[err.code().name] = codes.get(err.code().name, 0) + 1
                errors.append(f"{err.code().name}: {err.details()}")
            if args.until and streak >= int(run):
                break
    result = {"counts": counts, "codes": codes, "errors": errors[:5], "errorCount": len(errors)}
    if args.until:
        result["followed"] = streak >= int(run)
        result["seconds"] = time.monotonic() - started
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
