"""A proxyless gRPC client on gRPC C-core (Debian's python3-grpcio): calls etcdxds.v1.Greeter/SayHello on an
xds:/// target and prints, as JSON, how many calls each instance answered. The bootstrap comes from
GRPC_XDS_BOOTSTRAP. Messages are encoded by hand (two string fields) so no generated code is needed.

usage: xds_core_client.py TARGET CALLS
"""
import json
import sys

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


def main() -> None:
    target, calls = sys.argv[1], int(sys.argv[2])
    counts: dict = {}
    errors = []
    with grpc.insecure_channel(target) as channel:
        say_hello = channel.unary_unary("/etcdxds.v1.Greeter/SayHello")
        for i in range(calls):
            try:
                reply = say_hello(encode_request(f"call {i}"), timeout=10)
                who = instance_id(reply)
                counts[who] = counts.get(who, 0) + 1
            except grpc.RpcError as err:
                errors.append(f"{err.code().name}: {err.details()}")
    print(json.dumps({"counts": counts, "errors": errors[:5], "errorCount": len(errors)}))


if __name__ == "__main__":
    main()
