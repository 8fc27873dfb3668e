// Drops and recreates the scratch database of a disposable server, for a second replay from a known state; creates
// the databases beside it that model-drift fills with create_all().
import type pg from 'pg';
import { connect } from '../schema/introspect.js';
import { quoteIdent } from '../sql/quote.js';
import type { DisposablePostgres } from './provider.js';

export async function recreateScratchDatabase(server: DisposablePostgres): Promise<void> {
  const client = await maintenanceClient(server);
  try {
    // FORCE (PG 13+) ends connections the project's own engine may still hold.
    await client.query(`DROP DATABASE ${quoteIdent(server.database)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoteIdent(server.database)}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A second empty database on the same server (`<scratch>_models`), gone when the scratch database goes. */
export async function createSiblingDatabase(server: DisposablePostgres, name: string): Promise<void> {
  const client = await maintenanceClient(server);
  try {
    server.dropsWithIt?.(name);
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Connected to another database than the scratch one: `postgres`, or on a user's server the database of its URL
 * (only CREATE and DROP DATABASE ever run there).
 */
async function maintenanceClient(server: DisposablePostgres): Promise<pg.Client> {
  const open = (database: string) => connect(server, database);
  if (server.maintenanceDatabase) return open(server.maintenanceDatabase);
  try {
    return await open('postgres');
  } catch (error) {
    // A migration dropped the `postgres` database (3D000: it does not exist). The server is the check's own (a user's
    // server has maintenanceDatabase): make it again from the scratch database. (Not template1: CREATE DATABASE copies
    // it, and refuses while anyone is connected to it.)
    if ((error as { code?: string }).code !== '3D000') throw error;
    const scratch = await open(server.database);
    try {
      await scratch.query('CREATE DATABASE postgres');
    } finally {
      await scratch.end().catch(() => {});
    }
    return open('postgres');
  }
}
