// The drift already on the base branch: the base commit's models, imported from a copy of that commit in their own
// Python process, compared with the schema the history builds. missing-migration reports only what the PR adds to it.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { copyCommit } from '../git/repository.js';
import type { PythonChoice } from '../python/interpreter.js';
import type { PythonHelper } from '../python/bridge.js';
import { type AlembicProject, type LoadSettings, StartedHelper } from '../python/project.js';
import type { DiffInfo, ModelsDdl } from '../python/protocol.js';
import { compareWithModels, type ModelDiff } from './compare.js';

/** Files over 5 MB (images, fixtures, datasets) are not copied: models do not import them. Python files always are. */
const LARGE_FILE = 5 * 1024 * 1024;

export type BaseDrift =
  /**
   * The base's models were compared with the history state: `operations` is the drift already on base; of head's
   * differences, `old` are the same at base (not the pull request's), and `removed` are base's that head no longer has.
   */
  | { kind: 'compared'; label: string; operations: DiffInfo[]; old: DiffInfo[]; removed: DiffInfo[]; models: ModelsDdl | null; seconds: number }
  /** They could not be (say why, once): every difference counts as the pull request's. */
  | { kind: 'unavailable'; label: string; reason: string };

export interface BaseModelsSettings {
  python: PythonChoice;
  repositoryRoot: string;
  commit: string;
  /** "main (abc1234)": how messages name the base. */
  label: string;
  /** The project folder and its config in the working tree; the same relative paths are used in the copy. */
  cwd: string;
  load: LoadSettings;
  pythonOutput: (text: string) => void;
}

/** The base commit's project, loaded in its own Python process; never throws: a failure is kept for the notice. */
export class BaseModels {
  private constructor(
    private readonly label: string,
    private readonly copy: string | null,
    private readonly workingTree: string,
    private readonly project: AlembicProject | null,
    private readonly failure: string | null,
  ) {}

  /**
   * Null when the base has no such project (its alembic.ini is new in this pull request): then every difference is
   * the pull request's, and there is nothing to say about it.
   */
  static async start(settings: BaseModelsSettings, signal: AbortSignal): Promise<BaseModels | null> {
    const { label, repositoryRoot } = settings;
    let copy: string | null = null;
    let helper: StartedHelper | null = null;
    let child: PythonHelper | null = null;
    // Not needed after all (the comparison at head was clean, or the check stopped): the process goes at once.
    signal.addEventListener('abort', () => void child?.abandon(), { once: true });
    try {
      copy = await mkdtemp(join(tmpdir(), 'alembic-guard-base-'));
      await copyCommit(repositoryRoot, settings.commit, copy, LARGE_FILE);
      const inCopy = (path: string) => join(copy!, relative(repositoryRoot, path));
      if (signal.aborted || !existsSync(inCopy(settings.load.config))) {
        await rm(copy, { recursive: true, force: true });
        return null;
      }
      // It runs beside the replay, which matters more: on a busy machine the replay goes first.
      helper = await StartedHelper.start(settings.python, inCopy(settings.cwd), settings.pythonOutput, (started) => {
        child = started;
        started.yieldCpu();
      });
      const project = await helper.load({
        ...settings.load,
        root: inCopy(settings.load.root),
        config: inCopy(settings.load.config),
        workingTree: repositoryRoot,
        copyRoot: copy,
      });
      return new BaseModels(label, copy, repositoryRoot, project, null);
    } catch (error) {
      await helper?.close();
      return new BaseModels(label, copy, repositoryRoot, null, firstLine(error));
    }
  }

  /**
   * Compares the base's models with the database, which must be at the base's heads (the history state), and splits
   * `head` (the differences at head) by them.
   */
  async compare(ignoreObjects: string[], head: DiffInfo[]): Promise<BaseDrift> {
    if (!this.project) return this.unavailable(`its models could not be loaded: ${this.failure}`);
    let diff: ModelDiff;
    try {
      diff = await compareWithModels(this.project.helper, ignoreObjects, true);
    } catch (error) {
      return this.unavailable(`its models could not be loaded: ${firstLine(error).replace(/^Comparing the models with the migrated database failed: /, '')}`);
    }
    // An editable install can import the working tree's modules even from the copy: then this was not the base.
    const { modules } = await this.project.helper.request<{ modules: string[] }>('modules-from', { workingTree: this.workingTree });
    if (modules.length > 0) {
      return this.unavailable(
        `its Python imported ${modules.slice(0, 3).join(', ')}${modules.length > 3 ? ' and more' : ''} from the working tree ` +
          '(an editable install), not from the base commit',
      );
    }
    return {
      kind: 'compared',
      label: this.label,
      operations: diff.operations,
      ...splitByBase(head, diff.operations),
      models: diff.models,
      seconds: diff.seconds,
    };
  }

  unavailable(reason: string): BaseDrift {
    return { kind: 'unavailable', label: this.label, reason };
  }

  async close(): Promise<void> {
    await this.project?.close().catch(() => {});
    if (this.copy) await rm(this.copy, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * Head's differences split by the base's: `old` (the same code at base: not the PR's; the rest of head's are new or
 * changed by the pull request) and `removed` (at base, and no difference about that object remains at head).
 */
function splitByBase(head: DiffInfo[], base: DiffInfo[]): { old: DiffInfo[]; removed: DiffInfo[] } {
  const atBase = new Set(base.map((d) => d.fingerprint));
  const atHead = new Set(head.map((d) => d.fingerprint));
  const objectsAtHead = new Set(head.map(objectKey));
  return {
    old: head.filter((d) => atBase.has(d.fingerprint)),
    removed: base.filter((d) => !atHead.has(d.fingerprint) && !objectsAtHead.has(objectKey(d))),
  };
}

const objectKey = (d: DiffInfo) => `${d.kind} ${d.table ?? ''}.${d.object ?? ''}`;

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
