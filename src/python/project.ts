// Starts the helper in the project's Python and loads the project's Alembic setup; helper failures become UserErrors.
import { relative } from 'node:path';
import { UserError } from '../errors.js';
import { HelperCrashed, HelperRequestError, PythonHelper } from './bridge.js';
import { pythonEnvironment } from './environment.js';
import type { PythonChoice } from './interpreter.js';
import type { HelloResult, LoadResult, ScannedFile } from './protocol.js';

export interface ProjectSettings {
  root: string;
  config: string;
  section: string;
}

export interface DatabaseSettings {
  database: { host: string; port: number; user: string; password: string; database: string };
  environment: Record<string, string>;
  flaskApp: string | undefined;
}

/** The helper running in the project's Python, with the project's Alembic config loaded. */
export class AlembicProject {
  private constructor(
    readonly helper: PythonHelper,
    readonly versions: HelloResult,
    readonly loaded: LoadResult,
    private readonly root: string,
  ) {}

  static async open(
    python: PythonChoice,
    settings: ProjectSettings,
    onOutput: (text: string) => void,
  ): Promise<AlembicProject> {
    const helper = PythonHelper.start(python.executable, settings.root, pythonEnvironment(process.env), onOutput);
    try {
      const versions = await call<HelloResult>(helper, settings.root, 'hello', {}, python);
      const loaded = await call<LoadResult>(helper, settings.root, 'load', settings, python);
      return new AlembicProject(helper, versions, loaded, settings.root);
    } catch (error) {
      await helper.close();
      throw error;
    }
  }

  scan(files: { path: string; text: string }[]): Promise<ScannedFile[]> {
    return call<{ files: ScannedFile[] }>(this.helper, this.root, 'scan', { files }).then((r) => r.files);
  }

  useDatabase(settings: DatabaseSettings): Promise<{ url: string; driver: string }> {
    return call(this.helper, this.root, 'database', settings);
  }

  close(): Promise<void> {
    return this.helper.close();
  }
}

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
      throw new UserError(
        `${who} could not run alembic-guard's helper: ${error.message}.${tail ? `\n${tail}` : ''}\n` +
          'Pass --python with a Python 3 interpreter that has the project installed.',
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
    const where = info.file ? `${relative(root, info.file) || info.file}${info.line ? `:${info.line}` : ''}: ` : '';
    let message = info.message;
    if (info.file) message = message.split(info.file).join(relative(root, info.file));
    throw new UserError(`${where}${message}`);
  }
}
