// The minimal environment the project's Python runs in: it executes code from the pull request, so no secrets.
import { homedir } from 'node:os';

/** Variables passed through from the caller's environment; everything else (tokens, INPUT_*, ACTIONS_*) stays out. */
const PASSED_THROUGH = ['PATH', 'HOME', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'VIRTUAL_ENV', 'PYTHONPATH', 'SSL_CERT_FILE'];

export function pythonEnvironment(parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of PASSED_THROUGH) {
    const value = parent[key];
    if (value !== undefined) env[key] = value;
  }
  env.HOME ??= homedir();
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONIOENCODING = 'utf-8';
  // Nothing is written into the user's repository, bytecode caches included. (PYTHONPYCACHEPREFIX would also keep
  // them out, but it makes Python ignore the caches pip wrote in site-packages: +1.0 s of compiling per fresh run.)
  env.PYTHONDONTWRITEBYTECODE = '1';
  return env;
}
