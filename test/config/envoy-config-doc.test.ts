// docs/envoy-config.md stays true: its configuration examples validate, its bootstrap passes the strict Envoy check,
// and the --dry-run output it shows is what the preview computes for the same file and registrations.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfigDocuments } from '../../src/config/documents.js';
import { configKey } from '../../src/config/kinds.js';
import { ConfigStore } from '../../src/config/store.js';
import { validateEnvoyYaml } from '../../src/envoy/validate.js';
import { previewGroups } from '../../src/views/preview.js';
import { instance } from '../support/snapshots.js';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/envoy-config.md'), 'utf8');
const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/envoy-config.md', () => {
  it('holds configuration examples that validate', () => {
    const examples = yamlBlocks.filter((block) => /^kind: /m.test(block));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const example of examples) expect(readConfigDocuments(example)).toMatchObject({ ok: true });
  });

  it('holds a bootstrap-only Envoy config that passes the strict check', () => {
    const bootstrap = yamlBlocks.find((block) => block.includes('dynamic_resources'));
    expect(bootstrap).toBeDefined();
    expect(validateEnvoyYaml(bootstrap!)).toEqual([]);
  });

  it('shows the --dry-run output the preview computes for the canary example', () => {
    const canary = yamlBlocks.find((block) => block.startsWith('# greeter-canary.yaml'))!;
    const read = readConfigDocuments(canary);
    if (!read.ok) throw new Error('the canary example is valid');
    const store = new ConfigStore({ prefix: '/etcd-xds/config/' });
    for (const d of read.documents) store.applyPut(configKey('/etcd-xds/config/', d.kind, d.name), JSON.stringify(d.spec), '1');
    const registered = [
      ['greeter-1', '10.0.0.11', 'v1'],
      ['greeter-2', '10.0.0.12', 'v1'],
      ['greeter-3', '10.0.0.13', 'v2'],
    ].map(([id, address, version]) => instance('greeter', id!, 50051, { address: address!, metadata: { version: version!, protocol: 'grpc' } }));
    const groups = previewGroups({ config: store.view(), policies: ['greeter'], gateways: [], services: new Map([['greeter', registered]]) });
    const shown = /<!-- dry-run-output: greeter-canary.yaml -->\n```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(shown).toBeDefined();
    expect(JSON.parse(shown!)).toEqual(JSON.parse(JSON.stringify({ groups })));
  });
});
