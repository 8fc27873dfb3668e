// README's first command: set up Python, then check the bundled blog example as a pull request that forgot a migration.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupPython } from './setup-python.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const python = setupPython();
const cli = join(root, 'dist', 'cli.js');
const blog = join(root, 'examples', 'blog');

// 1. The example as it is: migrations and models agree.
process.stderr.write('\n$ alembic-guard check --cwd examples/blog\n');
const first = spawnSync(process.execPath, [cli, 'check', '--cwd', blog, '--python', python, ...process.argv.slice(2)], { stdio: 'inherit' });

// 2. A pull request that adds a column to the model and forgets the migration, in a scratch copy.
const scratch = mkdtempSync(join(tmpdir(), 'alembic-guard-example-'));
try {
  cpSync(blog, scratch, { recursive: true, filter: (src) => !src.includes('__pycache__') });
  const git = (...args) => execFileSync('git', args, { cwd: scratch, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.email=example@alembic-guard', '-c', 'user.name=example', 'commit', '-q', '--allow-empty', '-m', 'empty');
  git('add', '-A');
  git('-c', 'user.email=example@alembic-guard', '-c', 'user.name=example', 'commit', '-q', '-m', 'blog');
  const models = join(scratch, 'app', 'models.py');
  writeFileSync(models, readFileSync(models, 'utf8').replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    bio = Column(String(500))\n'));
  process.stderr.write('\n$ alembic-guard check   # after adding `bio = Column(String(500))` to User without a migration\n');
  const second = spawnSync(process.execPath, [cli, 'check', '--python', python, ...process.argv.slice(2)], { cwd: scratch, stdio: 'inherit' });
  process.stderr.write(`\nexit codes: ${first.status} (the example), ${second.status} (the pull request missing its migration)\n`);
  process.exit(first.status === 0 && second.status === 1 ? 0 : 1);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
