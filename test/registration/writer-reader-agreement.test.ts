// One set of rules for writers and reader: over generated values, whatever the SDK (`planRegistration`, what
// `register()` writes), the `register` CLI's flag parser or the registrar's config accepts, the control plane's
// reader (`parseRegistration`) accepts too, with the same fields.
import { describe, expect, it } from 'vitest';
import { parseRegisterFlags, type RegisterFlags } from '../../src/cli/register.js';
import { planRegistration, register, type RegisterOptions } from '../../src/registration/register.js';
import { buildRecord, encodeRecord, registrationKey } from '../../src/registration/record.js';
import { parseRegistrarConfig } from '../../src/registration/registrar-config.js';
import { parseRegistration } from '../../src/registry/parse.js';
import type { RegistrationRecord } from '../../src/registry/types.js';

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const SEED = 20_261_201;
const CASES = 3_000;

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!;
}

function maybe<T>(random: () => number, value: () => T): T | undefined {
  return random() < 0.5 ? value() : undefined;
}

// Boundary values of each rule, and a few ordinary ones.
const WEIGHTS = [-1, 0, 1, 7, 999_999, 1_000_000, 1_000_001, 2_000_000, 1.5, Number.NaN, 2 ** 32];
const PRIORITIES = [-1, 0, 1, 126, 127, 128, 1_000, 0.5];
const PORTS = [0, 1, 80, 8080, 65_535, 65_536, -5, 3.3];
const INTERVALS = [0, 1, 50, 99, 100, 101, 5_000, 3_599_999, 3_600_000, 3_600_001, 7_200_000, 2 ** 31];
const TIMEOUTS = [0, 1, 500, 3_600_000, 3_600_001, 7_200_000, -1];
const THRESHOLDS = [0, 1, 3, 2 ** 32 - 1, 2 ** 32, 2 ** 40];
const STATUSES = [100, 200, 204, 599, 600, 99];
const ADDRESSES = ['10.0.0.5', '127.0.0.1', '::1', 'fe80::1', '2001:db8::7', '0.0.0.0'];
const SERVICES = ['greeter', 'a', 'svc.v2', 'x'.repeat(128), 'x'.repeat(129), '', '.', '..', 'bad/name', 'sp ace', 'ünï'];
const IDS = ['i1', 'host-10.0.0.5-8080', 'a/b/c', '', 'ünïcødé', ' ', 'x'.repeat(500)];
const TEXTS = ['', 'eu-west-1', 'zone a', 'ü', '"quoted"', '\u0000', 'x'.repeat(70_000)];
const PATHS = ['/', '/healthz', 'healthz', '', '/a b'];

function healthCheck(random: () => number): unknown {
  const type = pick(random, ['tcp', 'http', 'grpc'] as const);
  const check: Record<string, unknown> = { type };
  const intervalMs = maybe(random, () => pick(random, INTERVALS));
  if (intervalMs !== undefined) check.intervalMs = intervalMs;
  const timeoutMs = maybe(random, () => pick(random, TIMEOUTS));
  if (timeoutMs !== undefined) check.timeoutMs = timeoutMs;
  if (random() < 0.3) check.healthyThreshold = pick(random, THRESHOLDS);
  if (random() < 0.3) check.unhealthyThreshold = pick(random, THRESHOLDS);
  if (random() < 0.3) check.port = pick(random, PORTS);
  if (type === 'http' && random() < 0.5) check.path = pick(random, PATHS);
  if (type === 'http' && random() < 0.3) check.expectedStatus = pick(random, STATUSES);
  if (type === 'grpc' && random() < 0.3) check.service = pick(random, ['', 'etcdxds.v1.Greeter']);
  return check;
}

function sdkOptions(random: () => number): { options: RegisterOptions; address: string } {
  const options: Record<string, unknown> = { service: pick(random, SERVICES), port: pick(random, PORTS) };
  const set = (name: string, value: () => unknown): void => {
    if (random() < 0.5) options[name] = value();
  };
  set('weight', () => pick(random, WEIGHTS));
  set('priority', () => pick(random, PRIORITIES));
  set('instanceId', () => pick(random, IDS));
  set('prefix', () => pick(random, ['/services/', '/services', '/other/prefix/']));
  set('locality', () => ({ region: pick(random, TEXTS), zone: pick(random, TEXTS), subZone: pick(random, TEXTS) }));
  set('metadata', () => ({ [pick(random, ['version', 'protocol', 'ü', 'a.b'])]: pick(random, TEXTS) }));
  set('healthCheck', () => healthCheck(random));
  return { options: options as unknown as RegisterOptions, address: pick(random, ADDRESSES) };
}

/** What the reader makes of a record written under a key: the accepted fields, or why it was refused. */
function read(prefix: string, key: string, record: RegistrationRecord): { ok: true; fields: RegistrationRecord } | { ok: false; reason: string } {
  const result = parseRegistration({ prefix, key, value: encodeRecord(record), lease: '0', modRevision: '1' });
  if (!result.ok) return { ok: false, reason: result.reason };
  const { address, port, weight, status, priority, locality, metadata, healthCheck } = result.instance;
  return { ok: true, fields: { address, port, weight, status, priority, locality, metadata, ...(healthCheck && { healthCheck }) } };
}

/** A case for a failure message, long strings shortened. */
function shown(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 20)}…(${v.length} chars)` : v));
}

function accepts<T>(attempt: () => T): T | undefined {
  try {
    return attempt();
  } catch {
    return undefined;
  }
}

describe('writers and reader agree', () => {
  it('whatever planRegistration (what register() writes) accepts, the reader accepts with the same fields', () => {
    const random = generator(SEED);
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const { options, address } = sdkOptions(random);
      const plan = accepts(() => planRegistration(options, address));
      if (!plan) continue;
      accepted += 1;
      const prefix = plan.key.slice(0, plan.key.length - `${options.service}/${plan.instanceId}`.length);
      const verdict = read(prefix, plan.key, plan.record);
      expect(verdict, `case ${i}: ${shown(options)}`).toEqual({ ok: true, fields: plan.record });
    }
    // The generator must exercise both sides of the rules, or the property says nothing.
    expect(accepted).toBeGreaterThan(50);
    expect(accepted).toBeLessThan(CASES);
  });

  it('whatever the register CLI turns into options, the SDK and then the reader accept', () => {
    const random = generator(SEED + 1);
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const flags: RegisterFlags = {
        service: pick(random, SERVICES),
        port: String(pick(random, PORTS)),
        address: pick(random, ADDRESSES),
        ttl: '10',
        metadata: random() < 0.5 ? [`version=${pick(random, TEXTS)}`] : [],
        drainSeconds: '5',
        prefix: '/services/',
        logLevel: 'info',
        waitForPort: false,
        etcdEndpoints: ['http://127.0.0.1:2379'],
        ...(random() < 0.6 && { weight: String(pick(random, WEIGHTS)) }),
        ...(random() < 0.5 && { priority: String(pick(random, PRIORITIES)) }),
        ...(random() < 0.5 && { zone: pick(random, TEXTS) }),
        ...(random() < 0.5 && { instanceId: pick(random, IDS) }),
        ...(random() < 0.3 && { healthCheck: pick(random, ['tcp', 'http', 'http:/healthz', 'grpc', 'grpc:svc']) }),
      };
      const options = accepts(() => parseRegisterFlags(flags));
      if (!options) continue;
      const plan = accepts(() => planRegistration(options, options.address!));
      // The CLI may leave a rule to the SDK (a value too large for etcd), but never one the SDK would pass and the reader refuse.
      if (!plan) continue;
      accepted += 1;
      expect(read('/services/', plan.key, plan.record).ok, `case ${i}: ${shown(flags)}`).toBe(true);
    }
    expect(accepted).toBeGreaterThan(50);
  });

  it('whatever the registrar config accepts, the reader accepts in every status the registrar writes', () => {
    const random = generator(SEED + 2);
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const instance: Record<string, unknown> = {
        service: pick(random, SERVICES),
        address: pick(random, ADDRESSES),
        port: pick(random, PORTS),
        probe: { type: pick(random, ['tcp', 'http']), ...(random() < 0.7 && { intervalMs: pick(random, INTERVALS) }) },
      };
      if (random() < 0.5) instance.weight = pick(random, WEIGHTS);
      if (random() < 0.5) instance.priority = pick(random, PRIORITIES);
      if (random() < 0.5) instance.instanceId = pick(random, IDS);
      if (random() < 0.3) instance.locality = { zone: pick(random, TEXTS) };
      if (random() < 0.3) instance.metadata = { team: pick(random, TEXTS) };
      const config = accepts(() => parseRegistrarConfig({ instances: [instance] }));
      if (!config) continue;
      accepted += 1;
      const spec = config.instances[0]!;
      for (const status of ['serving', 'unhealthy'] as const) {
        const record = buildRecord({ ...spec, status });
        const key = registrationKey('/services/', spec.service, spec.instanceId);
        expect(read('/services/', key, record).ok, `case ${i}: ${shown(instance)}`).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(50);
  });

  it('refuses the values of the bug report before touching etcd, naming the field', async () => {
    const base = { service: 'greeter', port: 8080, address: '10.0.0.5', waitForPortMs: 0, etcd: { endpoints: ['http://127.0.0.1:1'] } };
    await expect(register({ ...base, weight: 2_000_000 })).rejects.toThrow(/weight must be at most 1000000/);
    await expect(register({ ...base, healthCheck: { type: 'http', intervalMs: 50 } })).rejects.toThrow(/intervalMs must be at least 100/);
    await expect(register({ ...base, healthCheck: { type: 'tcp', intervalMs: 7_200_000 } })).rejects.toThrow(/intervalMs must be at most 3600000/);
    await expect(register({ ...base, metadata: { blob: 'x'.repeat(70_000) } })).rejects.toThrow(/control plane would reject.*oversized value/);
  });
});
