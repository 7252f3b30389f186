// Runs the validate-envoy subcommand on its own: the tests spawn this with `node --import tsx` because
// src/cli/main.ts imports every subcommand, some of which may not exist in a partial tree.
import { validateEnvoyCommand } from '../../src/cli/validate-envoy.js';

await validateEnvoyCommand().parseAsync(process.argv);
