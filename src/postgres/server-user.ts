// Decides which user the Postgres server runs as: ourselves, or `nobody` when we are root (Postgres refuses root).

import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';

export interface ServerUser {
  /** For messages. */
  readonly name: string;
  /** Set only when the server processes must run as a user other than this process. */
  readonly ids: { readonly uid: number; readonly gid: number } | undefined;
}

export const UNPRIVILEGED_USER = 'nobody';

/** The user the server runs as. `passwd` is the text of /etc/passwd (a parameter for tests). */
export function serverUser(uid = process.getuid?.(), readPasswd = () => readFileSync('/etc/passwd', 'utf8')): ServerUser {
  if (uid !== 0) return { name: 'the current user', ids: undefined };
  let passwd = '';
  try {
    passwd = readPasswd();
  } catch {
    // handled below as "no such user"
  }
  const ids = lookUpUser(passwd, UNPRIVILEGED_USER);
  if (!ids) {
    throw new UserError(
      `alembic-guard runs as root and Postgres refuses to run as root, but there is no '${UNPRIVILEGED_USER}' user in ` +
        `/etc/passwd to run it as. Run alembic-guard as a non-root user, or create the user ` +
        `(e.g. \`useradd --system --no-create-home ${UNPRIVILEGED_USER}\`).`,
    );
  }
  return { name: UNPRIVILEGED_USER, ids };
}

/** uid and gid of `name` in passwd(5) text, or undefined. */
export function lookUpUser(passwd: string, name: string): { uid: number; gid: number } | undefined {
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields[0] !== name || fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid) && fields[2] !== '' && fields[3] !== '') return { uid, gid };
  }
  return undefined;
}
