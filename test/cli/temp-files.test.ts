// Test helpers must not leave files behind: the gRPC bootstrap files that e2e tests write go when the process ends.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SUPPORT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../support/control-plane.ts');

describe('test bootstrap files', () => {
  it('writeXdsBootstrap files and their folder are removed when the process exits', async () => {
    const script = `const m = await import(${JSON.stringify(SUPPORT)}); console.log(m.writeXdsBootstrap('127.0.0.1:1', 'a')); console.log(m.writeXdsBootstrap('127.0.0.1:1', 'b'));`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], (err, out) => (err ? reject(err) : resolve(out))),
    );
    const files = stdout.trim().split('\n');
    expect(files).toHaveLength(2);
    expect(path.dirname(files[0]!)).toBe(path.dirname(files[1]!));
    for (const file of files) expect(existsSync(path.dirname(file)), file).toBe(false);
  });
});
