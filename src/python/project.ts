// Starts the helper in the project's Python and loads the project's Alembic setup; helper failures become UserErrors.
import { relative } from 'node:path';
import { UserError } from '../errors.js';
import { HelperCrashed, HelperRequestError, PythonHelper } from './bridge.js';
import { pythonEnvironment } from './environment.js';
import type { PythonChoice } from './interpreter.js';
import type { HelloResult, LoadResult, ScannedFile, ScanRequestFile } from './protocol.js';

export interface ProjectSettings {
  root: string;
  config: string;
  section: string;
}

export interface LoadSettings extends ProjectSettings {
  database: { host: string; port: number; user: string; password: string; database: string };
  /** Settings that are not about the database (`--env`, `[tool.alembic-guard] env`), passed as given. */
  environment: Record<string, string>;
  /** `--database-env`: KEY -> template with {host} {port} {user} {password} {database} {url}. */
  databaseEnvironment: Record<string, string>;
  flaskApp: string | undefined;
  /** Loading the base commit's copy of the project: imports that point into the working tree are moved to the copy. */
  workingTree?: string;
  copyRoot?: string;
}

/**
 * The helper running in the project's Python with SQLAlchemy and Alembic imported, and no project code run yet:
 * it starts while Postgres starts, and loads the project once every variable the project reads is known.
 */
export class StartedHelper {
  private constructor(
    readonly helper: PythonHelper,
    readonly versions: HelloResult,
    private readonly python: PythonChoice,
  ) {}

  /** `started`: called with the helper as soon as its process runs (before it answers), e.g. to stop it early. */
  static async start(
    python: PythonChoice,
    root: string,
    onOutput: (text: string) => void,
    started?: (helper: PythonHelper) => void,
  ): Promise<StartedHelper> {
    const helper = PythonHelper.start(python.executable, root, pythonEnvironment(process.env), onOutput);
    started?.(helper);
    try {
      return new StartedHelper(helper, await call<HelloResult>(helper, root, 'hello', {}, python), python);
    } catch (error) {
      await helper.close();
      throw error;
    }
  }

  /** Sets the environment, points the config at the database, then imports env.py's world: the revision files. */
  async load(settings: LoadSettings): Promise<AlembicProject> {
    const loaded = await call<LoadResult>(this.helper, settings.root, 'load', settings, this.python);
    return new AlembicProject(this.helper, this.versions, loaded, settings.root);
  }

  close(): Promise<void> {
    return this.helper.close();
  }
}

/** The helper running in the project's Python, with the project's Alembic config loaded against the database. */
export class AlembicProject {
  constructor(
    readonly helper: PythonHelper,
    readonly versions: HelloResult,
    readonly loaded: LoadResult,
    private readonly root: string,
  ) {}

  /** Reads migration sources with `ast` (never runs them); see ScanRequestFile for what else it can say of each. */
  scan(files: ScanRequestFile[]): Promise<ScannedFile[]> {
    return call<{ files: ScannedFile[] }>(this.helper, this.root, 'scan', { files }).then((r) => r.files);
  }

  close(): Promise<void> {
    return this.helper.close();
  }
}

/** What each request is doing, for the message when the project's code ends the process during it. */
const STEP: Record<string, string> = {
  load: "loading the project (env.py's configuration, the revision files)",
  scan: 'reading the revision files',
  replay: 'replaying the migrations',
  compare: 'comparing the migrated database with the models',
  render: 'writing the missing migration',
};

/** A helper request whose user-facing failures become UserErrors naming the file and line. */
export async function call<T>(
  helper: PythonHelper,
  root: string,
  cmd: string,
  args: unknown,
  python?: PythonChoice,
): Promise<T> {
  try {
    return await helper.request<T>(cmd, args);
  } catch (error) {
    if (error instanceof HelperCrashed) {
      const who = python ? `${python.executable} (from ${python.source})` : 'the project\'s Python';
      const tail = error.stderr.trim().split('\n').slice(-8).join('\n');
      if (cmd === 'hello') {
        throw new UserError(
          `${who} could not run alembic-guard's helper: ${error.message}.${tail ? `\n${tail}` : ''}\n` +
            'Pass --python with a Python 3 interpreter that has the project installed.',
        );
      }
      // It ran, then the project's code ended the process (sys.exit or os._exit in env.py, the models or a migration,
      // a crash in a C extension): that code is at fault, not the interpreter.
      throw new UserError(
        `${who} exited while ${STEP[cmd] ?? cmd} (${error.message.replace(/^the Python helper exited \((.*)\)$/, '$1')}): env.py, the ` +
          `models or a migration ended the process (sys.exit(), os._exit(), a signal or a crash).${tail ? ` Its last output:\n${tail}` : ''}\n` +
          'Find the call that exits (it must not run when Alembic imports the file), or run `alembic upgrade head` on a scratch database to see it.',
      );
    }
    if (!(error instanceof HelperRequestError)) throw error;
    const info = error.info;
    if (info.kind === 'internal') {
      throw new Error(`${info.message}\n${typeof info.detail === 'string' ? info.detail : ''}`);
    }
    if (info.kind === 'missing-module') {
      const who = python?.executable ?? 'the project\'s Python';
      throw new UserError(
        `${info.detail} is not installed in ${who}${python ? ` (chosen from ${python.source})` : ''}. ` +
          'Install the project\'s dependencies there (pip install alembic sqlalchemy), or pass --python with the interpreter that has them.',
      );
    }
    const file = info.file ? relative(root, info.file) || info.file : null;
    const where = file ? `${file}${info.line ? `:${info.line}` : ''}: ` : '';
    let message = info.message;
    if (info.file) message = message.split(info.file).join(file!);
    throw new UserError(`${where}${message}`, file, info.line);
  }
}
