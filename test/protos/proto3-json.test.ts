// The one strict proto3-JSON walker (checkProto3Json) and the reader built on it, over the project's own
// Registration message and a few Envoy types.
import { describe, expect, it } from 'vitest';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { projectType } from '../../src/protos/project-protos.js';
import { checkProto3Json } from '../../src/protos/proto3-json.js';
import { proto3JsonReader } from '../../src/protos/proto3-json-reader.js';

const registration = (): ReturnType<typeof projectType> => projectType('etcdxds.v1.Registration');

describe('checkProto3Json', () => {
  it('returns no problem for a valid value, in JSON or proto names', () => {
    expect(checkProto3Json(registration(), { address: '10.0.0.5', port: 80, healthCheck: { type: 'tcp' } })).toEqual([]);
    expect(checkProto3Json(registration(), { address: '10.0.0.5', port: '80', health_check: { interval_ms: 5 } })).toEqual([]);
  });

  it('reports each problem with its path and a kind callers can word for themselves', () => {
    const problems = checkProto3Json(registration(), {
      port: 'abc',
      weight: -1,
      bogus: 1,
      locality: 'x',
      metadata: { a: 1, b: null },
      healthCheck: { type: 'tcp' },
      health_check: { type: 'tcp' },
    });
    expect(problems.map(({ path, kind }) => [path.join('.'), kind])).toEqual([
      ['port', 'wrong-form'],
      ['weight', 'out-of-range'],
      ['bogus', 'unknown-field'],
      ['locality', 'wrong-form'],
      ['metadata.a', 'wrong-form'],
      ['metadata.b', 'wrong-form'],
      ['health_check', 'duplicate-field'],
    ]);
    expect(problems[0]).toMatchObject({ expected: 'uint32', value: 'abc', message: 'expected an integer (uint32), got the string "abc"' });
    expect(problems[1]).toMatchObject({ range: { min: 0n, max: 4294967295n, value: -1n } });
    expect(problems[3]).toMatchObject({ expected: 'message', value: 'x' });
  });

  it('applies protoc-gen-validate rules of the type it is given (an Envoy Cluster needs a name)', () => {
    const problems = checkProto3Json(envoyType('envoy.config.cluster.v3.Cluster'), {});
    expect(problems).toContainEqual(expect.objectContaining({ path: ['name'], kind: 'invalid', message: expect.stringMatching(/at least 1 characters/) }));
  });
});

describe('proto3JsonReader', () => {
  const read = proto3JsonReader(registration());

  it('hands back a value in the writer form as it is, without copying', () => {
    const value = { address: '10.0.0.5', port: 80, locality: { subZone: 'r1' }, metadata: { v: '2' }, healthCheck: { type: 'http', intervalMs: 500 } };
    const result = read(value);
    expect(result.ok && result.fields).toBe(value);
  });

  it('normalises what the walk accepts in other forms: proto names, integers as strings, nulls', () => {
    const result = read({ address: '10.0.0.5', port: '80', weight: null, locality: { sub_zone: 'r1' }, health_check: { interval_ms: '500' } });
    expect(result).toEqual({ ok: true, fields: { address: '10.0.0.5', port: 80, locality: { subZone: 'r1' }, healthCheck: { intervalMs: 500 } } });
  });

  it('refuses through the full walk: the same problems as checkProto3Json', () => {
    const value = { address: '10.0.0.5', port: 80, locality: { rack: 'a' } };
    const result = read(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual(checkProto3Json(registration(), value));
    expect(read({ address: '10.0.0.5', port: 80, metadata: { __proto__x: 1 } }).ok).toBe(false);
  });

  it('refuses at creation a type it cannot read (repeated fields, oneofs, validate rules)', () => {
    expect(() => proto3JsonReader(envoyType('envoy.config.cluster.v3.Cluster'))).toThrow(/proto3JsonReader/);
  });
});
