// `migrations-run`: what a finding about locks, or about code that runs during the migration, is worth. Online (the
// default) it is the point, and the suggestion says how to declare the other case; offline (the app stopped while it
// migrates) a lock blocks no request and no old code meets the new schema, so those findings become notices and a
// finding about a lock and the data keeps only the data part.
import type { Finding, RuleId } from '../findings.js';
import type { ProjectSettings } from '../settings/settings.js';
import { endingWith } from './rule.js';

/** Rules whose every finding is about the locks a statement holds (a rule can also mark one finding `concern: 'lock'`). */
const LOCK_RULES: ReadonlySet<RuleId> = new Set<RuleId>(['index-not-concurrent', 'foreign-key-validates', 'volatile-default', 'backfill-under-lock']);
/**
 * Rules about code deployed before the migration that still uses what it drops or renames: with the app stopped while
 * it migrates, the new code is the only one that ever meets the new schema.
 */
const DEPLOY_RULES: ReadonlySet<RuleId> = new Set<RuleId>(['drop-column', 'drop-table', 'rename-column', 'rename-table']);

/** What a finding about both a lock and the data says when the lock does not matter: the data part alone. */
export interface OfflineReading {
  message: string;
  suggestion: string | null;
}

/** A finding about a lock and the data (set-not-null on a column that may hold nulls), with its offline reading. */
type LockAndDataFinding = Finding & { offline: OfflineReading };

const STOPPED = 'runs its migrations while it is stopped (`alembic upgrade head` at startup, before serving)';
const DECLARE = 'declare `migrations-run = "offline"` in `[tool.alembic-guard]` of pyproject.toml';

/** The last line of an online lock finding's suggestion. */
export const OFFLINE_HINT_LOCK = `If this app ${STOPPED}, ${DECLARE}, and lock findings become notices.`;
/** The same for a finding about a lock and the data. */
export const OFFLINE_HINT_LOCK_AND_DATA = `If this app ${STOPPED}, ${DECLARE}: the lock then does not matter, and this finding keeps only what the data can do.`;
/** The same for a finding about the code deployed before the migration. */
export const OFFLINE_HINT_DEPLOY = `If this app ${STOPPED}, ${DECLARE}: no running code meets the new schema, and this becomes a notice.`;
/** The last line of a lock finding's suggestion when the project migrates offline. */
export const OFFLINE_NOTICE = 'A notice because this project runs its migrations with the app stopped (`migrations-run = "offline"`): the lock keeps no request waiting.';
/** The same for a finding about running code. */
export const OFFLINE_NOTICE_DEPLOY =
  'A notice because this project runs its migrations with the app stopped (`migrations-run = "offline"`): no code deployed before the migration is running when it does.';

/** The last line of a lock or running-code finding's suggestion, as the project runs its migrations. */
const LAST_LINES = {
  lock: { online: OFFLINE_HINT_LOCK, offline: OFFLINE_NOTICE },
  deploy: { online: OFFLINE_HINT_DEPLOY, offline: OFFLINE_NOTICE_DEPLOY },
} as const;

/**
 * Marks a finding as about a lock and the data: online it stays as it is (plus the offline hint); offline it becomes
 * `offline`, at the same severity. The reader is told each thing once: the offline reading has no lock wording.
 */
export function lockAndData(finding: Finding, offline: OfflineReading): Finding {
  const marked: LockAndDataFinding = { ...finding, concern: 'data', offline };
  return marked;
}

/**
 * Applies the project's `migrations-run` setting. Online: every lock finding's suggestion ends with the line that says
 * how to declare offline migrations. Offline: lock findings become notices; findings about a lock and the data lose
 * their lock wording and keep their severity. An explicit `severity` setting is applied after this (judge()).
 */
export function applyMigrationsRun(findings: Finding[], settings: ProjectSettings): Finding[] {
  return findings.map((found) => {
    const { offline, ...finding } = found as Partial<LockAndDataFinding> & Finding;
    const concern = finding.concern ?? (LOCK_RULES.has(finding.rule) ? 'lock' : DEPLOY_RULES.has(finding.rule) ? 'deploy' : undefined);
    if (concern === undefined) return finding;
    const offlineRun = settings.migrationsRun === 'offline';
    if (concern === 'lock' || concern === 'deploy') {
      const last = LAST_LINES[concern];
      return offlineRun
        ? { ...finding, concern, severity: 'notice', suggestion: endingWith(finding.suggestion, last.offline) }
        : { ...finding, concern, suggestion: endingWith(finding.suggestion, last.online) };
    }
    if (!offline) return finding;
    return offlineRun
      ? { ...finding, message: offline.message, suggestion: offline.suggestion }
      : { ...finding, suggestion: endingWith(finding.suggestion, OFFLINE_HINT_LOCK_AND_DATA) };
  });
}
