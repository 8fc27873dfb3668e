#!/usr/bin/env node
// The `alembic-guard` command: parse the command line, run one check, print the report, exit 0, 1 or 2.
import { relative } from 'node:path';
import { runCheck, type CheckIO } from './check.js';
import { isUserError, UserError } from './errors.js';
import { parseCommandLine, USAGE, type CheckOptions, type OutputFormat } from './options.js';
import { combineReports, renderUnderHeadings } from './report/combine.js';
import { renderJson, renderJsonError } from './report/json.js';
import { renderMarkdown } from './report/markdown.js';
import type { Report } from './report/report.js';
import { renderSarif } from './report/sarif.js';
import { renderText } from './report/text.js';

const VERSION = '0.1.0';

function render(report: Report, format: OutputFormat): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'sarif':
      return renderSarif(report);
    case 'text':
      return renderText(report, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR });
  }
}

/**
 * Checks each project in turn (several with a repeated --config, each from its own directory); the first that cannot
 * run stops the check. Several reports are printed under headings (text, markdown) or combined (json, sarif).
 */
async function checkProjects(projects: CheckOptions[], format: OutputFormat, io: CheckIO): Promise<number> {
  const reports: Report[] = [];
  for (const options of projects) {
    const name = projects.length > 1 ? relative(process.cwd(), options.config) || options.config : null;
    if (name) io.log(`== ${name}`);
    try {
      reports.push(await runCheck(options, io));
    } catch (error) {
      if (name && isUserError(error)) throw new UserError(`${name}: ${error.message}`);
      throw error;
    }
  }
  const output =
    reports.length === 1
      ? render(reports[0], format)
      : format === 'text' || format === 'markdown'
        ? renderUnderHeadings(reports, format, (report) => render(report, format))
        : render(combineReports(reports), format);
  process.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
  return reports.some((report) => report.status === 'fail') ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  let format: OutputFormat = 'text';
  try {
    const command = parseCommandLine(argv, process.cwd());
    if (command.kind === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (command.kind === 'version') {
      process.stdout.write(`alembic-guard ${VERSION}\n`);
      return 0;
    }
    format = command.options.format;
    const verbose = Boolean(process.env.ALEMBIC_GUARD_VERBOSE);
    const io = {
      log: (line: string) => process.stderr.write(`${line}\n`),
      pythonOutput: (text: string) => {
        if (verbose) process.stderr.write(text);
      },
    };
    return await checkProjects(command.projects ?? [command.options], format, io);
  } catch (error) {
    // `--format json` prints one JSON document on every exit: also when the command line itself is wrong (then
    // `format` was never set from it), and on an internal error.
    const json = format === 'json' || formatAsked(argv) === 'json';
    if (isUserError(error)) {
      process.stderr.write(`alembic-guard: ${error.message}\n`);
      if (json) process.stdout.write(renderJsonError(error.message, error.file, error.line));
      return 2;
    }
    const message = `internal error (please report it): ${(error as Error)?.message ?? String(error)}`;
    process.stderr.write(`alembic-guard: internal error (please report it): ${(error as Error)?.stack ?? String(error)}\n`);
    if (json) process.stdout.write(renderJsonError(`alembic-guard: ${message}`));
    return 2;
  }
}

/** The value of --format on a command line that may not parse: `--format json` or `--format=json`. */
function formatAsked(argv: string[]): string | null {
  for (const [i, arg] of argv.entries()) {
    if (arg === '--format') return argv[i + 1] ?? null;
    if (arg.startsWith('--format=')) return arg.slice('--format='.length);
  }
  return null;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`alembic-guard: internal error (please report it): ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 2;
  },
);
