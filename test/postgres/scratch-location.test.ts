// Where data directories go: an explicit folder, else /dev/shm with room to spare, else the temp directory.
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { SCRATCH_VARIABLE, scratchLocation } from '../../src/postgres/scratch-location.js';
import { startDisposablePostgres } from '../../src/postgres/start.js';

it(`uses ${SCRATCH_VARIABLE} when it is set, and refuses one that names no folder`, () => {
  const folder = mkdtempSync(join(tmpdir(), 'alembic-guard-scratch-'));
  try {
    expect(scratchLocation({ [SCRATCH_VARIABLE]: folder })).toBe(folder);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  expect(() => scratchLocation({ [SCRATCH_VARIABLE]: folder })).toThrow(UserError);
  expect(() => scratchLocation({ [SCRATCH_VARIABLE]: folder })).toThrow(`${SCRATCH_VARIABLE}=${folder}: no such folder.`);
});

it('uses /dev/shm on Linux when it has a GiB free, else the temp directory', () => {
  let shmFree = 0;
  try {
    const stats = statfsSync('/dev/shm');
    shmFree = stats.bavail * stats.bsize;
  } catch {
    // none
  }
  expect(scratchLocation({})).toBe(process.platform === 'linux' && shmFree >= 1024 ** 3 ? '/dev/shm' : tmpdir());
});

it('starts a server whose data directory is where scratchLocation says, and removes it', async () => {
  const server = (await startDisposablePostgres('binaries', { log: () => {} })) as Awaited<ReturnType<typeof startDisposablePostgres>> & {
    directory: string;
  };
  try {
    expect(server.directory.startsWith(`${scratchLocation()}/alembic-guard-pg-`)).toBe(true);
  } finally {
    await server.stop();
  }
  const { existsSync } = await import('node:fs');
  expect(existsSync(server.directory)).toBe(false);
});
