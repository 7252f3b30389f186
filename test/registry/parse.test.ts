import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_VALUE_BYTES, parseKey, parseRegistration, type RegistrationParseResult } from '../../src/registry/parse.js';
import { registrationType } from '../../src/registry/registration-schema.js';
import type { Instance } from '../../src/registry/types.js';

const PREFIX = '/services/';

function parse(value: Buffer | string, key = '/services/greeter/i-1'): RegistrationParseResult {
  return parseRegistration({ prefix: PREFIX, key, value, lease: '7587', modRevision: '42' });
}

function accepted(value: Buffer | string, key?: string): Instance {
  const result = parse(value, key);
  if (!result.ok) throw new Error(`expected acceptance, got: ${result.reason}`);
  return result.instance;
}

function rejection(value: Buffer | string, key?: string): string {
  const result = parse(value, key);
  if (result.ok) throw new Error(`expected rejection, got ${JSON.stringify(result.instance)}`);
  return result.reason;
}

describe('parseKey', () => {
  it('takes the first segment as the service and all the rest as the instance id', () => {
    expect(parseKey(PREFIX, '/services/greeter/i-1')).toEqual({ ok: true, service: 'greeter', instanceId: 'i-1' });
    expect(parseKey(PREFIX, '/services/a.b_c-D9/host/10.0.0.5:8080')).toEqual({
      ok: true,
      service: 'a.b_c-D9',
      instanceId: 'host/10.0.0.5:8080',
    });
  });

  it('refuses invalid service names, missing instance ids and keys outside the prefix', () => {
    const badName = parseKey(PREFIX, '/services/bad name/i-1');
    expect(badName).toMatchObject({ ok: false, service: 'bad name' });
    expect(!badName.ok && badName.reason).toMatch(/service name "bad name" .* invalid/);
    const tooLong = parseKey(PREFIX, `/services/${'x'.repeat(129)}/i`);
    expect(tooLong.ok).toBe(false);
    expect(parseKey(PREFIX, `/services/${'x'.repeat(128)}/i`).ok).toBe(true);
    const noInstance = parseKey(PREFIX, '/services/greeter');
    expect(!noInstance.ok && noInstance.reason).toMatch(/has no instance id/);
    const emptyInstance = parseKey(PREFIX, '/services/greeter/');
    expect(!emptyInstance.ok && emptyInstance.reason).toMatch(/has no instance id/);
    const emptyService = parseKey(PREFIX, '/services//i-1');
    expect(!emptyService.ok && emptyService.reason).toMatch(/empty service name/);
    for (const dots of ['.', '..']) expect(parseKey(PREFIX, `/services/${dots}/i-1`).ok).toBe(false);
    const outside = parseKey(PREFIX, '/other/greeter/i-1');
    expect(!outside.ok && outside.reason).toMatch(/not under the prefix/);
  });
});

describe('the registration schema', () => {
  it('is loaded from proto/ and uses the JSON names of DESIGN.md', () => {
    const type = registrationType();
    expect(type.fullName).toBe('.etcdxds.v1.Registration');
    expect(type.fields['weight']?.options?.['proto3_optional']).toBe(true);
    expect(type.fields['health_check']?.options?.['json_name']).toBe('healthCheck');
  });
});

describe('native JSON values', () => {
  it('reads every field of the DESIGN.md example', () => {
    const instance = accepted(
      JSON.stringify({
        address: '10.0.0.5',
        port: 8080,
        weight: 3,
        status: 'serving',
        priority: 1,
        locality: { region: 'eu-west-1', zone: 'eu-west-1a', subZone: 'rack1' },
        metadata: { version: 'v2' },
        healthCheck: { type: 'http', path: '/healthz', intervalMs: 5000, expectedStatus: 204 },
      }),
    );
    expect(instance).toEqual({
      service: 'greeter',
      instanceId: 'i-1',
      key: '/services/greeter/i-1',
      format: 'json',
      address: '10.0.0.5',
      port: 8080,
      weight: 3,
      status: 'serving',
      priority: 1,
      locality: { region: 'eu-west-1', zone: 'eu-west-1a', subZone: 'rack1' },
      metadata: { version: 'v2' },
      healthCheck: { type: 'http', path: '/healthz', intervalMs: 5000, expectedStatus: 204 },
      lease: '7587',
      modRevision: '42',
    });
    expect(Object.isFrozen(instance)).toBe(true);
  });

  it('defaults weight to 1, status to serving and priority to 0, and keeps weight 0 (draining)', () => {
    const minimal = accepted('{"address":"10.0.0.5","port":8080}');
    expect(minimal).toMatchObject({ weight: 1, status: 'serving', priority: 0, locality: {}, metadata: {} });
    expect(minimal.healthCheck).toBeUndefined();
    expect(accepted('{"address":"10.0.0.5","port":8080,"weight":0}').weight).toBe(0);
    expect(accepted('{"address":"10.0.0.5","port":8080,"weight":null}').weight).toBe(1);
  });

  it('accepts proto field names and string-encoded integers, as proto3 JSON allows', () => {
    const instance = accepted(
      '{"address":"10.0.0.5","port":"8080","locality":{"sub_zone":"r1"},"health_check":{"type":"tcp","interval_ms":1000}}',
    );
    expect(instance.port).toBe(8080);
    expect(instance.locality).toEqual({ subZone: 'r1' });
    expect(instance.healthCheck).toEqual({ type: 'tcp', intervalMs: 1000 });
  });

  it('accepts IPv6 literals, with or without brackets', () => {
    expect(accepted('{"address":"2001:db8::5","port":80}').address).toBe('2001:db8::5');
    expect(accepted('{"address":"[::1]","port":80}').address).toBe('::1');
  });

  it('reads grpc health checks', () => {
    const instance = accepted('{"address":"10.0.0.5","port":8080,"healthCheck":{"type":"grpc","service":"greeter.v1"}}');
    expect(instance.healthCheck).toEqual({ type: 'grpc', service: 'greeter.v1' });
  });
});

describe('etcd Go naming records', () => {
  it('reads Addr and keeps the string entries of an object Metadata', () => {
    const instance = accepted('{"Op":0,"Addr":"10.0.0.5:8080","Metadata":{"version":"v2","replicas":3,"x":null}}');
    expect(instance).toMatchObject({ format: 'go-naming', address: '10.0.0.5', port: 8080, weight: 1, status: 'serving' });
    expect(instance.metadata).toEqual({ version: 'v2' });
  });

  it('ignores Metadata that is not an object, and reads IPv6 Addr', () => {
    expect(accepted('{"Op":0,"Addr":"10.0.0.5:8080","Metadata":"free text"}').metadata).toEqual({});
    expect(accepted('{"Op":0,"Addr":"10.0.0.5:8080","Metadata":null}').metadata).toEqual({});
    expect(accepted('{"Op":0,"Addr":"[2001:db8::1]:9000"}')).toMatchObject({ address: '2001:db8::1', port: 9000 });
  });

  it('refuses Delete records, unknown fields and hostnames', () => {
    expect(rejection('{"Op":1,"Addr":"10.0.0.5:8080"}')).toMatch(/Op is 1 \(Delete\)/);
    expect(rejection('{"Op":0,"Addr":"10.0.0.5:8080","Weight":2}')).toMatch(/unknown field "Weight"/);
    expect(rejection('{"Op":0,"Addr":"backend.internal:8080"}')).toMatch(/hostname.*Envoy EDS and gRPC xDS clients reject hostnames/);
    expect(rejection('{"Op":0}')).toMatch(/Addr must be/);
  });
});

describe('bare host:port values', () => {
  it('reads IPv4 and bracketed IPv6', () => {
    expect(accepted('10.0.0.5:8080')).toMatchObject({ format: 'host-port', address: '10.0.0.5', port: 8080, weight: 1 });
    expect(accepted(' [::1]:8080\n')).toMatchObject({ format: 'host-port', address: '::1', port: 8080 });
    expect(accepted(Buffer.from('192.168.1.20:443'))).toMatchObject({ address: '192.168.1.20', port: 443 });
  });

  it('refuses hostnames, unbracketed IPv6, missing and bad ports', () => {
    expect(rejection('localhost:8080')).toMatch(/^value "localhost:8080": address "localhost" is a hostname.*Envoy EDS and gRPC xDS clients reject hostnames/);
    expect(rejection('::1:8080')).toMatch(/without brackets/);
    expect(rejection('10.0.0.5')).toMatch(/has no port/);
    expect(rejection('10.0.0.5:99999')).toMatch(/^value "10.0.0.5:99999": port must be an integer from 1 to 65535, got 99999$/);
    expect(rejection('10.0.0.5:http')).toMatch(/port "http"/);
    expect(rejection(':8080')).toMatch(/empty address/);
  });
});

describe('rejections name the field and say why', () => {
  it.each([
    ['malformed JSON', '{"address":"10.0.0.5",', /^malformed JSON: .+/],
    ['port 0', '{"address":"10.0.0.5","port":0}', /^port must be an integer from 1 to 65535, got 0$/],
    ['port too large', '{"address":"10.0.0.5","port":70000}', /^port must be an integer from 1 to 65535, got 70000$/],
    ['port not a number', '{"address":"10.0.0.5","port":"abc"}', /^port must be an integer, got the string "abc"$/],
    ['fractional port', '{"address":"10.0.0.5","port":80.5}', /^port must be an integer/],
    ['missing port', '{"address":"10.0.0.5"}', /^port is missing/],
    ['unknown status', '{"address":"10.0.0.5","port":80,"status":"up"}', /^status "up" is not one of "serving", "draining", "unhealthy"$/],
    ['empty address', '{"address":"","port":80}', /^address is missing or empty/],
    ['missing address', '{"port":80}', /^address is missing or empty/],
    ['hostname', '{"address":"api.example.com","port":80}', /^address "api.example.com" is a hostname.*reject hostnames/],
    ['address with port', '{"address":"10.0.0.5:80","port":80}', /includes a port/],
    ['bad IPv4', '{"address":"10.0.0.256","port":80}', /is not an IPv4 or IPv6 address/],
    ['unknown field', '{"address":"10.0.0.5","port":80,"weigth":2}', /^unknown field "weigth"/],
    ['unknown nested field', '{"address":"10.0.0.5","port":80,"locality":{"rack":"a"}}', /^unknown field "locality.rack"/],
    ['negative weight', '{"address":"10.0.0.5","port":80,"weight":-1}', /^weight must be an integer from 0 to/],
    ['huge weight', '{"address":"10.0.0.5","port":80,"weight":5000000}', /^weight must be an integer from 0 to 1000000/],
    ['priority too high', '{"address":"10.0.0.5","port":80,"priority":128}', /^priority must be an integer from 0 to 127/],
    ['metadata not strings', '{"address":"10.0.0.5","port":80,"metadata":{"a":1}}', /^metadata.a must be a string/],
    ['status not a string', '{"address":"10.0.0.5","port":80,"status":1}', /^status must be a string/],
    ['health check type', '{"address":"10.0.0.5","port":80,"healthCheck":{"type":"icmp"}}', /^healthCheck.type "icmp"/],
    ['health check path on tcp', '{"address":"10.0.0.5","port":80,"healthCheck":{"type":"tcp","path":"/x"}}', /^healthCheck.path applies only to type "http"/],
    ['health check relative path', '{"address":"10.0.0.5","port":80,"healthCheck":{"type":"http","path":"x"}}', /must start with "\/"/],
    ['field given twice', '{"address":"10.0.0.5","port":80,"healthCheck":{"type":"tcp"},"health_check":{"type":"tcp"}}', /given twice/],
    ['JSON list', '["10.0.0.5:80"]', /^value is a list, not an object/],
    ['JSON string', '"10.0.0.5:80"', /^value is a string, not an object/],
    ['empty value', '   ', /^value is empty/],
    ['probe interval over an hour', '{"address":"10.0.0.5","port":80,"healthCheck":{"type":"tcp","intervalMs":3000000000}}', /^healthCheck.intervalMs must be at most 3600000/],
    ['probe timeout over an hour', '{"address":"10.0.0.5","port":80,"healthCheck":{"type":"tcp","timeoutMs":3000000000}}', /^healthCheck.timeoutMs must be at most 3600000/],
  ])('%s', (_name, value, reason) => {
    expect(rejection(value)).toMatch(reason);
  });

  it('refuses values over 64 KiB before parsing them', () => {
    const value = JSON.stringify({ address: '10.0.0.5', port: 80, metadata: { pad: 'x'.repeat(MAX_VALUE_BYTES) } });
    const bytes = Buffer.byteLength(value);
    expect(rejection(value)).toBe(`oversized value: ${bytes} bytes > 65536`);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(rejection(Buffer.from([0xff, 0xfe, 0x31]))).toMatch(/not valid UTF-8/);
  });

  it('reports the service of a rejected value, and the key problem for a bad key', () => {
    expect(parse('{').ok).toBe(false);
    expect(parse('{')).toMatchObject({ service: 'greeter' });
    expect(parse('10.0.0.5:80', '/services/bad*name/i')).toMatchObject({ ok: false, service: 'bad*name' });
  });

  it('never throws, whatever the bytes', () => {
    for (let i = 0; i < 300; i++) {
      const bytes = randomBytes(1 + (i % 64));
      if (i % 3 === 0) bytes[0] = 0x7b; // '{'
      expect(() => parse(bytes)).not.toThrow();
    }
    for (const value of ['{"__proto__":{"x":1}}', '{"constructor":1}', '{"address":{"a":1},"port":[1]}', '{}', '[]']) {
      expect(parse(value).ok).toBe(false);
    }
  });
});
