// The whole test suite: make sure the Python side exists, then run vitest (its summary line ends the output).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupPython } from './setup-python.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
setupPython();
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
// vitest colours its output when CI is set; a log file (CI's) should hold the plain summary line.
const env = process.stdout.isTTY ? process.env : { ...process.env, NO_COLOR: '1' };
const result = spawnSync(process.execPath, [vitest, 'run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env });
process.exit(result.status ?? 1);
