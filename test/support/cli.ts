// The real `etcd-xds` entry point, for tests that run the CLI as a child process (`node --import tsx CLI_ENTRY ...`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts');
