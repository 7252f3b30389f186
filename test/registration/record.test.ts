import { describe, expect, it } from 'vitest';
import { parseRegistration } from '../../src/registry/parse.js';
import { buildRecord, encodeRecord, normalizePrefix, registrationKey, type RecordFields } from '../../src/registration/record.js';

describe('the record registrations write', () => {
  it('fills defaults and leaves out what was not given', () => {
    expect(buildRecord({ address: '10.0.0.5', port: 8080 })).toEqual({
      address: '10.0.0.5',
      port: 8080,
      weight: 1,
      status: 'serving',
      priority: 0,
      locality: {},
      metadata: {},
    });
    expect(buildRecord({ address: '10.0.0.5', port: 1, locality: { zone: 'a', region: '' } }).locality).toEqual({ zone: 'a' });
  });

  it('puts keys at <prefix><service>/<instanceId>, with or without a trailing slash on the prefix', () => {
    expect(registrationKey('/services/', 'greeter', 'h-10.0.0.5-8080')).toBe('/services/greeter/h-10.0.0.5-8080');
    expect(registrationKey('/services', 'greeter', 'x')).toBe('/services/greeter/x');
    expect(normalizePrefix('/a/b/')).toBe('/a/b/');
  });

  // The contract with the server: whatever the SDK, CLI or registrar writes, the registry's parser accepts as is.
  it("is accepted unchanged by the server's registry parser", () => {
    const cases: RecordFields[] = [
      { address: '10.0.0.5', port: 8080 },
      {
        address: 'fd00::2',
        port: 65535,
        weight: 0,
        priority: 127,
        status: 'draining',
        locality: { region: 'eu-west-1', zone: 'eu-west-1a', subZone: 'rack1' },
        metadata: { version: 'v2' },
        healthCheck: { type: 'http', path: '/healthz', expectedStatus: 204, intervalMs: 5000 },
      },
      { address: '10.0.0.5', port: 8080, status: 'unhealthy', healthCheck: { type: 'grpc', service: 'greeter' } },
      { address: '10.0.0.5', port: 8080, healthCheck: { type: 'tcp', intervalMs: 1000, timeoutMs: 200 } },
    ];
    for (const fields of cases) {
      const record = buildRecord(fields);
      const parsed = parseRegistration({
        prefix: '/services/',
        key: registrationKey('/services/', 'greeter', `host-${fields.address}-${fields.port}`),
        value: encodeRecord(record),
        lease: '7',
        modRevision: '3',
      });
      expect(parsed, JSON.stringify(parsed)).toMatchObject({ ok: true, instance: { format: 'json', ...record } });
    }
  });
});
