// `migrations-run = "offline"`: apps that migrate while stopped do not care about locks; lock-only findings become notices.
import type { Finding } from '../findings.js';
import type { ProjectSettings } from '../settings/settings.js';

/** Applies the project's `migrations-run` setting to the findings (placeholder: returns them unchanged). */
export function applyMigrationsRun(findings: Finding[], _settings: ProjectSettings): Finding[] {
  return findings;
}
