// Creates .venv with Alembic, SQLAlchemy and Postgres drivers (the Python the tests and the example use), once.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');
const python = join(venv, 'bin', 'python');
const packages = ['alembic>=1.13', 'SQLAlchemy[asyncio]>=2.0', 'psycopg[binary]>=3.1', 'psycopg2-binary', 'asyncpg'];

function hasPackages() {
  try {
    execFileSync(python, ['-c', 'import alembic, sqlalchemy, psycopg, psycopg2, asyncpg, greenlet'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function setupPython() {
  if (existsSync(python) && hasPackages()) return python;
  const base = process.env.PYTHON ?? 'python3';
  process.stderr.write(`setting up ${venv} (${packages.join(', ')})\n`);
  if (!existsSync(python)) execFileSync(base, ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '0', ...packages], {
    stdio: 'inherit',
  });
  return python;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) setupPython();
