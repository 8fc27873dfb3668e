// Finds the Python interpreter that has the project's dependencies: --python, the active virtualenv, .venv, python3.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, pathVariable: string | undefined): string | null {
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

export interface PythonChoice {
  executable: string;
  /** Why this one: "--python", "VIRTUAL_ENV", ".venv", "PATH". */
  source: string;
}

/** The interpreter to run the project's code with. */
export function findPython(option: string | undefined, projectRoot: string, env: NodeJS.ProcessEnv): PythonChoice {
  if (option) {
    const looksLikePath = option.includes('/') || isAbsolute(option);
    // A relative path is taken from where the command runs, then from the project directory.
    const candidates = looksLikePath ? [resolve(option), resolve(projectRoot, option)] : [onPath(option, env.PATH)];
    const found = candidates.find((candidate): candidate is string => candidate !== null && isExecutable(candidate));
    if (!found) {
      throw new UserError(
        `--python ${option}: no such interpreter${looksLikePath ? ` (${[...new Set(candidates)].join(' and ')}: not found or not executable)` : ' on PATH'}. ` +
          'Pass the path of the Python that has the project installed, e.g. --python .venv/bin/python.',
      );
    }
    return { executable: found, source: '--python' };
  }
  if (env.VIRTUAL_ENV) {
    const candidate = join(env.VIRTUAL_ENV, 'bin', 'python');
    if (isExecutable(candidate)) return { executable: candidate, source: 'VIRTUAL_ENV' };
  }
  const local = join(projectRoot, '.venv', 'bin', 'python');
  if (existsSync(local) && isExecutable(local)) return { executable: local, source: '.venv' };
  const python3 = onPath('python3', env.PATH);
  if (python3) return { executable: python3, source: 'PATH' };
  throw new UserError(
    'No Python found: no active virtualenv, no .venv/bin/python in the project and no python3 on PATH. ' +
      'Install Python 3 with the project\'s dependencies, or pass --python /path/to/python.',
  );
}
