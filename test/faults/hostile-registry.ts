// Generators of hostile etcd keys and values for the registry fuzz test: every format of the key schema
// (DESIGN.md "etcd key schema") broken in small ways, plus bytes no format expects. Each generator draws from a
// seeded Random, so a failing run reproduces from its seed.
import type { Random } from './prng.js';

export type Value = string | Buffer;

const deep = (depth: number, open: string, close: string, leaf: string): string => open.repeat(depth) + leaf + close.repeat(depth);
const deepObject = (depth: number): string => deep(depth, '{"a":', '}', '1');
const deepList = (depth: number): string => deep(depth, '[', ']', '');
const MiB = 1 << 20;

/** Invalid UTF-8: lone continuation bytes, overlong forms, surrogates, truncated sequences, 0xFE/0xFF. */
const INVALID_UTF8: readonly Buffer[] = [
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0x80]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xe0, 0x80, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xf0, 0x9f, 0x98]),
];

const native = (fields: Record<string, unknown>): string => JSON.stringify({ address: '10.9.0.1', port: 8080, ...fields });

/** Values that break the native JSON record. */
const NATIVE_BROKEN: ReadonlyArray<(r: Random) => Value> = [
  () => JSON.stringify({ port: 8080 }),
  () => JSON.stringify({ address: '10.9.0.1' }),
  () => native({ address: 'backend.internal' }),
  () => native({ address: '10.9.0.1\u0000' }),
  () => native({ address: '10.9.0.256' }),
  () => native({ address: '::ffff:10.9.0.1%eth0' }),
  () => native({ address: '' }),
  () => native({ address: 42 }),
  () => native({ port: 0 }),
  () => native({ port: -1 }),
  () => native({ port: 65_536 }),
  () => native({ port: 80.5 }),
  () => native({ port: '8080' }),
  () => native({ port: null }),
  () => '{"address":"10.9.0.1","port":1e400}',
  () => '{"address":"10.9.0.1","port":-1e400}',
  () => '{"address":"10.9.0.1","port":123456789012345678901234567890}',
  () => '{"address":"10.9.0.1","port":8080,"weight":1e308}',
  () => '{"address":"10.9.0.1","port":8080,"weight":-0}',
  () => '{"address":"10.9.0.1","port":8080,"priority":9007199254740993}',
  () => native({ weight: -1 }),
  () => native({ weight: 'heavy' }),
  () => native({ priority: -1 }),
  () => native({ status: 'SERVING' }),
  () => native({ status: '' }),
  () => native({ locality: 'eu-west-1' }),
  () => native({ locality: { region: 7 } }),
  () => native({ locality: { zone: 'z'.repeat(70_000) } }),
  () => native({ metadata: { version: 2 } }),
  () => native({ metadata: [] }),
  () => native({ healthCheck: { type: 'icmp' } }),
  () => native({ healthCheck: { type: 'http', intervalMs: -5 } }),
  () => native({ healthCheck: { type: 'http', path: 'no-leading-slash' } }),
  () => native({ healthCheck: { type: 'tcp', port: 70_000 } }),
  () => '{"address":"10.9.0.1","port":8080,"healthCheck":{"type":"http","intervalMs":1e400}}',
  () => native({ unknownField: true }),
  () => '{"__proto__":{"address":"10.9.0.1","port":8080}}',
  () => '{"address":"10.9.0.1","port":8080,"metadata":{"__proto__":"polluted"}}',
  () => '{"constructor":{"prototype":{"port":1}},"address":"10.9.0.1"}',
  () => '{"address":"10.9.0.1","port":8080,"address":"backend.internal"}',
  () => '{"address":"10.9.0.1","port":8080',
  () => '{"address":"10.9.0.1","port":8080}}',
  () => `{"address":"10.9.0.1","port":8080,"metadata":${deepObject(10_000)}}`,
  () => `{"address":"10.9.0.1","port":8080,"locality":${deepObject(10_000)}}`,
  (r) => native({ metadata: Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, `v${r.int(1e9)}`])) }),
];

/** Values that break etcd's Go naming record. */
const GO_NAMING_BROKEN: ReadonlyArray<() => Value> = [
  () => JSON.stringify({ Op: 1, Addr: '10.9.0.1:8080' }),
  () => JSON.stringify({ Op: '0', Addr: '10.9.0.1:8080' }),
  () => JSON.stringify({ Op: 0 }),
  () => JSON.stringify({ Op: 0, Addr: '10.9.0.1' }),
  () => JSON.stringify({ Op: 0, Addr: 'host.internal:8080' }),
  () => JSON.stringify({ Op: 0, Addr: ['10.9.0.1:8080'] }),
  () => JSON.stringify({ Op: 0, Addr: '10.9.0.1:8080', Extra: 1 }),
  () => JSON.stringify({ Op: 0, Addr: '10.9.0.1:8080\u0000' }),
  () => `{"Op":0,"Addr":"10.9.0.1:8080","Metadata":${deepList(10_000)}}`,
  () => '{"Op":1e400,"Addr":"10.9.0.1:8080"}',
];

/** Values that break the bare host:port form. */
const HOST_PORT_BROKEN: ReadonlyArray<() => Value> = [
  () => '10.9.0.1',
  () => '10.9.0.1:',
  () => ':8080',
  () => '10.9.0.1:8080:9090',
  () => '10.9.0.1:99999',
  () => '10.9.0.1:0',
  () => '10.9.0.1:-80',
  () => '10.9.0.1:80a',
  () => '256.1.1.1:80',
  () => '1.2.3.4.5:80',
  () => '[::1]8080',
  () => '[::1]:65536',
  () => '[:::1]:80',
  () => '::1:8080',
  () => 'localhost:8080',
  () => '10.9.0.1 :8080',
  () => '10.9.0.1:8080\u0000',
  () => '\u0000',
  () => '10.9.0.1:123456789012345678901234567890',
  () => '\u001b]52;c;ZWNobyBwd25lZA==\u0007',
  () => '\u001b[1A\u001b[2K10.9.0.1:8080',
];

/** Values no format expects. */
const OTHER: ReadonlyArray<(r: Random) => Value> = [
  () => '',
  () => '   \n\t ',
  () => 'null',
  () => 'true',
  () => '42',
  () => '1e400',
  () => '"10.9.0.1:8080"',
  () => '[]',
  () => '{}',
  () => '[1,2,3]',
  () => deepList(10_000),
  () => deepObject(10_000),
  () => deep(10_000, '{"a":[', ']}', '1'),
  (r) => Buffer.concat([Buffer.from('{"address":"10.9.0.1","port":8080,"metadata":{"v":"'), r.pick(INVALID_UTF8), Buffer.from('"}}')]),
  (r) => Buffer.concat([Buffer.from('10.9.0.1:80'), r.pick(INVALID_UTF8)]),
  (r) => r.pick(INVALID_UTF8),
  (r) => r.bytes(1 + r.int(300)),
  (r) => r.bytes(1 + r.int(20)).toString('latin1'),
  () => '\ufeff{"address":"10.9.0.1","port":8080}',
  () => '{"address":"10.9.0.1","port":8080}'.padEnd(70_000, ' '),
];

/** 1 MiB values: over the registry's value limit; kept few because each is a megabyte in etcd's log. */
const HUGE: ReadonlyArray<(r: Random) => Value> = [
  () => 'x'.repeat(MiB),
  () => native({ metadata: { blob: 'b'.repeat(MiB - 100) } }),
  () => JSON.stringify({ address: '10.9.0.1', port: 8080 }).padEnd(MiB, ' '),
  (r) => r.bytes(MiB),
];

/** A valid value of one of the three formats, on a random address and port. */
export function validValue(r: Random): { value: string; endpoint: string } {
  const address = `10.${20 + r.int(200)}.${r.int(256)}.${1 + r.int(254)}`;
  const port = 1 + r.int(65_535);
  const formats = [
    JSON.stringify({ address, port }),
    JSON.stringify({ Op: 0, Addr: `${address}:${port}` }),
    `${address}:${port}`,
  ];
  return { value: r.pick(formats), endpoint: `${address}:${port}` };
}

/** One hostile value; `huge` allows a 1 MiB one. */
export function hostileValue(r: Random, huge: boolean): Value {
  if (huge) return r.pick(HUGE)(r);
  const family = r.pick([NATIVE_BROKEN, GO_NAMING_BROKEN, HOST_PORT_BROKEN, OTHER] as ReadonlyArray<ReadonlyArray<(r: Random) => Value>>);
  return r.pick(family)(r);
}

/** Service names the key schema refuses. */
const BAD_SERVICES: readonly string[] = [
  '', '.', '..', 'a'.repeat(129), 'has space', 'café', 'svc%2e', 'svc\u0000nul', 'semi;colon', 'tab\tname',
  '\u001b[2Kansi', '<script>', 'a:b', '@at', '"quoted"', '🦄',
];

/** Odd names the key schema accepts. */
export const ODD_VALID_SERVICES: readonly string[] = ['-', '_', '...', '.hidden', 'a.b-c_d', 'Z'.repeat(128), '0'];

/**
 * A hostile key under `prefix`, made unique by `n`: a broken service segment, an odd instance id, bytes that are
 * not UTF-8, or a key that breaks the schema's shape. Returned as bytes, since some are not valid UTF-8.
 */
export function hostileKey(r: Random, prefix: string, n: number): Buffer {
  const shapes: ReadonlyArray<() => Buffer | string> = [
    () => `${prefix}${r.pick(BAD_SERVICES)}/id-${n}`,
    () => `${prefix}${r.pick(ODD_VALID_SERVICES)}/id-${n}`,
    () => `${prefix}svc-${n}`, // no instance id
    () => `${prefix}svc-${n}/`, // empty instance id
    () => `${prefix}/id-${n}`, // empty service
    () => `${prefix}fuzz/${'i'.repeat(5_000)}-${n}`, // very long instance id
    () => `${prefix}fuzz/a/b/c/${n}`, // slashes in the instance id
    () => `${prefix}fuzz/\u0000${n}`,
    () => `${prefix}fuzz/\u001b[1A\u001b[2K${n}`,
    () => Buffer.concat([Buffer.from(`${prefix}fuzz/id-${n}-`), r.pick(INVALID_UTF8)]),
    () => Buffer.concat([Buffer.from(prefix), r.pick(INVALID_UTF8), Buffer.from(`/id-${n}`)]),
  ];
  const key = r.pick(shapes)();
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/** Keys just outside the prefix: the watcher must never see them. */
export function outsideKey(r: Random, prefix: string, n: number): string {
  const bare = prefix.replace(/\/$/, '');
  return r.pick([`${bare}`, `${bare}X/svc/${n}`, `${bare}-other/svc/${n}`, `/elsewhere/svc/${n}`, `${bare.toUpperCase()}/svc/${n}`]);
}
