// Drops and recreates the scratch database of a disposable server, for a second replay from a known state.
import { UserError } from '../errors.js';
import type { DisposablePostgres } from './provider.js';
import { runStatement } from './wire.js';

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function recreateScratchDatabase(pg: DisposablePostgres): Promise<void> {
  if (pg.provider === 'url') {
    throw new UserError('recreating the scratch database is not supported on a user-given server yet');
  }
  const target = { host: pg.host, port: pg.port, user: pg.user, database: 'postgres' };
  // FORCE (PG 13+) ends connections the project's own engine may still hold.
  await runStatement(target, `DROP DATABASE ${quoteIdent(pg.database)} WITH (FORCE)`);
  await runStatement(target, `CREATE DATABASE ${quoteIdent(pg.database)}`);
}
