import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistrarConfig, parseRegistrarConfig } from '../../src/registration/registrar-config.js';

const good = {
  instances: [
    { service: 'billing', address: '10.0.0.7', port: 8080, probe: { type: 'tcp' } },
    {
      service: 'billing',
      address: 'fd00::7',
      port: 8080,
      instanceId: 'b2',
      weight: 2,
      locality: { zone: 'a' },
      metadata: { v: '1' },
      probe: { type: 'http', path: '/healthz', expectedStatus: 204, intervalMs: 1000, timeoutMs: 200 },
      removeAfterSeconds: 30,
    },
  ],
};

describe('registrar config', () => {
  it('fills defaults: TTL 10 s, 5 s probes with 1 s timeout, removal after 60 s, id address-port', () => {
    const config = parseRegistrarConfig(good);
    expect(config.ttlSeconds).toBe(10);
    expect(config.instances[0]).toEqual({
      service: 'billing',
      address: '10.0.0.7',
      port: 8080,
      instanceId: '10.0.0.7-8080',
      probe: { type: 'tcp', intervalMs: 5000, timeoutMs: 1000 },
      removeAfterSeconds: 60,
    });
    expect(config.instances[1]).toMatchObject({
      instanceId: 'b2',
      probe: { type: 'http', path: '/healthz', expectedStatus: 204, intervalMs: 1000, timeoutMs: 200 },
    });
    const http = parseRegistrarConfig({ instances: [{ service: 's', address: '10.0.0.1', port: 80, probe: { type: 'http' } }] });
    expect(http.instances[0]!.probe).toEqual({ type: 'http', path: '/', intervalMs: 5000, timeoutMs: 1000 });
  });

  it('names the path of each invalid field', () => {
    const withInstance = (patch: Record<string, unknown>) => ({ instances: [{ ...good.instances[0], ...patch }] });
    expect(() => parseRegistrarConfig(withInstance({ port: 0 }), 'x.yaml')).toThrow('x.yaml: instances[0].port: port must be 1–65535');
    expect(() => parseRegistrarConfig(withInstance({ address: 'db.internal' }))).toThrow(
      /instances\[0\]\.address: must be an IPv4 or IPv6 literal/,
    );
    expect(() => parseRegistrarConfig(withInstance({ probe: { type: 'icmp' } }))).toThrow(/instances\[0\]\.probe\.type/);
    expect(() => parseRegistrarConfig(withInstance({ probe: { type: 'http', path: 'healthz' } }))).toThrow(
      /instances\[0\]\.probe\.path: path must start with \//,
    );
    expect(() => parseRegistrarConfig(withInstance({ prot: 80 }))).toThrow(/instances\[0\]: .*prot/);
    expect(() => parseRegistrarConfig(withInstance({ removeAfterSeconds: 0 }))).toThrow(
      /instances\[0\]\.removeAfterSeconds: removeAfterSeconds must be > 0/,
    );
    expect(() => parseRegistrarConfig({ instances: [] })).toThrow(/instances: list at least one instance/);
    expect(() => parseRegistrarConfig({ instances: [good.instances[0], good.instances[0]] })).toThrow(
      'config: instances[1]: duplicate of instances[0] (billing/10.0.0.7-8080)',
    );
  });

  it('reports YAML syntax errors and unreadable files with the file name', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'registrar-config-'));
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, 'instances:\n  - service: a\n   address: [1\n');
    await expect(loadRegistrarConfig(broken)).rejects.toThrow(`${broken}: invalid YAML:`);
    await expect(loadRegistrarConfig(path.join(dir, 'missing.yaml'))).rejects.toThrow(/missing.yaml: cannot read/);
    const valid = path.join(dir, 'ok.yaml');
    writeFileSync(valid, 'ttlSeconds: 3\ninstances:\n  - {service: a, address: 127.0.0.1, port: 9, probe: {type: tcp}}\n');
    expect((await loadRegistrarConfig(valid)).ttlSeconds).toBe(3);
  });
});
