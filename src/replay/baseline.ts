// `baseline-sql`: the schema a history that cannot start from empty expects, run on the scratch database before any revision.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../errors.js';
import type { DisposablePostgres } from '../postgres/provider.js';
import { connect } from '../schema/introspect.js';

/**
 * Runs the file as one simple-protocol script on its own connection (a dump's `SET search_path = ''` stays there);
 * pg_dump's psql-only `\restrict`/`\unrestrict` lines are left out.
 */
export async function applyBaselineSql(server: DisposablePostgres, file: string, repositoryRoot: string): Promise<void> {
  const sql = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !/^\\(un)?restrict\b/.test(line))
    .join('\n');
  const client = await connect(server);
  try {
    await client.query(sql);
  } catch (error) {
    throw new UserError(
      `${relative(repositoryRoot, file)} (baseline-sql in [tool.alembic-guard]) failed on the empty database: ${(error as Error).message}. ` +
        'It must be plain SQL that creates the schema the first migration expects (pg_dump --schema-only --no-owner of such a database).',
    );
  } finally {
    await client.end().catch(() => {});
  }
}
