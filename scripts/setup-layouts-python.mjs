// Creates the extra virtualenvs the layout tests use (.venv-sa20: SQLAlchemy 2.0 with SQLModel and pydantic-settings;
// .venv-async: asyncpg as the only PostgreSQL driver), once.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** name -> [packages, the import line that proves they are there]. .venv (SQLAlchemy 2.1) is scripts/setup-python.mjs's. */
const VENVS = {
  '.venv-sa20': [
    ['SQLAlchemy[asyncio]>=2.0,<2.1', 'alembic>=1.13', 'psycopg[binary]>=3.1', 'psycopg2-binary', 'asyncpg', 'sqlmodel', 'pydantic-settings'],
    'import sqlalchemy, alembic, psycopg, psycopg2, asyncpg, greenlet, sqlmodel, pydantic_settings; assert sqlalchemy.__version__.startswith("2.0")',
  ],
  // An async-only project: no psycopg, no psycopg2, so nothing can connect without asyncpg.
  '.venv-async': [
    ['SQLAlchemy[asyncio]>=2.0', 'alembic>=1.13', 'asyncpg'],
    'import importlib.util, sqlalchemy, alembic, asyncpg, greenlet; ' +
      'assert importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is None, "a sync driver is installed"',
  ],
};

function works(python, check) {
  try {
    execFileSync(python, ['-c', check], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns the interpreter of the virtualenv `name`, creating it and installing its packages when needed. */
export function setupLayoutsPython(name = '.venv-sa20') {
  const [packages, check] = VENVS[name];
  const venv = join(root, name);
  const python = join(venv, 'bin', 'python');
  if (existsSync(python) && works(python, check)) return python;
  process.stderr.write(`setting up ${venv} (${packages.join(', ')})\n`);
  if (!existsSync(python)) execFileSync(process.env.PYTHON ?? 'python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '0', ...packages], {
    stdio: 'inherit',
  });
  if (!works(python, check)) throw new Error(`${venv} does not pass its check after pip install: ${check}`);
  return python;
}

/** The system Python with Debian's SQLAlchemy 1.4, Alembic 1.8 and Flask-Migrate, or null when they are not installed. */
export function systemPython() {
  const python = '/usr/bin/python3';
  return existsSync(python) && works(python, 'import sqlalchemy, alembic, psycopg2, flask_migrate, flask_sqlalchemy') ? python : null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of Object.keys(VENVS)) setupLayoutsPython(name);
}
