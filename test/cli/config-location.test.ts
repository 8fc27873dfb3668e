// Alembic configs that only work from elsewhere (issue #9 item 7): a relative script_location written for the config's
// own folder, and alembic.ini templates. The reader is held to Python's configparser and Alembic; the CLI to its messages.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { alembicOption, checkAlembicConfig, checkAlembicConfigOf, parseIni } from '../../src/python/alembic-config.js';
import { layoutProject } from '../layouts/support.js';
import { PYTHON, REPO_ROOT, runCli, type FixtureProject } from '../support/fixtures.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
const DB_FOLDER = join(FIXTURES, 'config-db-folder');
const TEMPLATE = join(FIXTURES, 'config-template');

/** What Python's configparser (as Alembic builds it, with `here`) and Alembic's Config make of each ini file. */
function pythonReads(files: string[], section = 'alembic', keys = ['script_location', 'version_locations', 'prepend_sys_path']) {
  const script = `
import configparser, json, os, sys
from alembic.config import Config
out = []
for path in json.loads(sys.argv[1]):
    parser = configparser.ConfigParser({"here": os.path.dirname(os.path.abspath(path))})
    try:
        parser.read(path, encoding="locale")  # as alembic.util.compat.read_config_parser
    except configparser.Error as exc:
        out.append({"error": type(exc).__name__})
        continue
    sections = {name: {k: v for k, v in parser._sections[name].items()} for name in parser.sections()}
    defaults = {k: v for k, v in parser.defaults().items() if k != "here"}
    options = {}
    for key in json.loads(sys.argv[3]):
        try:
            options[key] = Config(path, ini_section=sys.argv[2]).get_main_option(key)
        except Exception as exc:
            options[key] = "!" + type(exc).__name__
    out.append({"sections": sections, "defaults": defaults, "options": options})
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, JSON.stringify(files), section, JSON.stringify(keys)], { encoding: 'utf8' }));
}

describe('reading alembic.ini as configparser does', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'alembic-guard-ini-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const SAMPLES: Record<string, string> = {
    plain: '[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql://u:p@h/db\n',
    colon: '[alembic]\nscript_location: db/migrations\nversion_locations : %(here)s/a %(here)s/b\n',
    upperKeys: '[alembic]\nSCRIPT_LOCATION = Migrations\nPrepend_Sys_Path = .\n',
    continuation:
      '[alembic]\nversion_locations = %(here)s/one\n    %(here)s/two\n\n\t%(here)s/three\n# a comment between\n  %(here)s/four\nscript_location = m\n',
    comments: '; leading\n# more\n[alembic]\n  # indented comment\nscript_location = migrations # not a comment\n; x = 1\nprepend_sys_path = .\n',
    defaults: '[DEFAULT]\nbase = %(here)s/db\n\n[alembic]\nscript_location = %(base)s/migrations\n\n[other]\nscript_location = elsewhere\n',
    defaultOnly: '[DEFAULT]\nscript_location = %(here)s/shared\n[alembic]\nsqlalchemy.url = x\n',
    percent: '[alembic]\nscript_location = 100%%/migrations\nfile_template = %%(rev)s_%%(slug)s\n',
    nested: '[alembic]\na = %(b)s/x\nb = %(c)s/y\nc = %(here)s\nscript_location = %(a)s\n',
    bom: '\uFEFF[alembic]\nscript_location = migrations\n',
    crlf: '[alembic]\r\nscript_location = migrations\r\nprepend_sys_path = .\r\n',
    emptyValue: '[alembic]\nscript_location =\nprepend_sys_path=\n',
    headerJunk: '[alembic] ; trailing\nscript_location = x\n',
    ownHere: '[alembic]\nhere = /elsewhere\nscript_location = %(here)s/m\n',
    missingSection: '[something]\nscript_location = x\n',
    noHeader: 'script_location = x\n[alembic]\n',
    duplicateOption: '[alembic]\nscript_location = a\nScript_Location = b\n',
    duplicateSection: '[alembic]\na = 1\n[alembic]\nb = 2\n',
    notAnOption: '[alembic]\njust words\n',
    emptyName: '[alembic]\n= value\n',
    loneDefaultTwice: '[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n[alembic]\nscript_location = %(a)s%(b)s\n',
  };

  it('parses every sample into the same sections, values and errors as Python', () => {
    const names = Object.keys(SAMPLES);
    const files = names.map((name) => {
      const file = join(dir, `${name}.ini`);
      writeFileSync(file, SAMPLES[name]!);
      return file;
    });
    const python = pythonReads(files);
    names.forEach((name, i) => {
      const expected = python[i];
      if (expected.error) {
        expect(() => parseIni(SAMPLES[name]!), name).toThrow();
        return;
      }
      const parsed = parseIni(SAMPLES[name]!);
      const ours = Object.fromEntries([...parsed].filter(([s]) => s !== 'DEFAULT').map(([s, options]) => [s, Object.fromEntries(options)]));
      expect(ours, name).toEqual(expected.sections);
      expect(Object.fromEntries(parsed.get('DEFAULT')!), name).toEqual(expected.defaults);
      for (const [key, value] of Object.entries(expected.options as Record<string, string | null>)) {
        // Alembic's own errors (an interpolation it cannot do) are ours to leave alone: undefined.
        const want = value === null || value.startsWith('!') ? undefined : value;
        expect(alembicOption(files[i]!, 'alembic', key), `${name} ${key}`).toBe(want);
      }
    });
    // The differential test is only as good as its samples: Python refused some and read others.
    expect(python.filter((r: { error?: string }) => r.error).length).toBeGreaterThanOrEqual(5);
    expect(python.filter((r: { error?: string }) => !r.error).length).toBeGreaterThanOrEqual(14);
  });
});

describe('checkAlembicConfig', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'alembic-guard-config-check-'));
    for (const folder of ['db/schema/versions', 'app/migrations', 'migrations', 'cfg']) mkdirSync(join(root, folder), { recursive: true });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const ini = (path: string, text: string) => {
    writeFileSync(join(root, path), text);
    return join(root, path);
  };
  const check = (path: string, text: string, cwd = root, section = 'alembic') => () => checkAlembicConfig(ini(path, text), cwd, section, root);

  it.each([
    ['a relative location that exists from where alembic runs', 'alembic.ini', '[alembic]\nscript_location = migrations\n', ''],
    ['%(here)s from another folder', 'db/alembic.ini', '[alembic]\nscript_location = %(here)s/schema\n', ''],
    ['a package:path location', 'alembic.ini', '[alembic]\nscript_location = myapp:migrations\n', ''],
    ['no script_location (Flask-Migrate)', 'migrations/alembic.ini', '[alembic]\n# template used to generate migration files\n', ''],
    ['no [alembic] section', 'alembic.ini', '[something]\nscript_location = nowhere\n', ''],
    ['a placeholder in sqlalchemy.url only', 'alembic.ini', '[alembic]\nscript_location = migrations\nsqlalchemy.url = ${DATABASE_URL}\n', ''],
    ['a file configparser refuses', 'alembic.ini', 'script_location = nowhere\n', ''],
    ['the section given by --name', 'alembic.ini', '[alembic]\nscript_location = nowhere\n[tenant]\nscript_location = migrations\n', 'tenant'],
  ])('accepts %s', (_what, path, text, section) => {
    expect(check(path, text, root, section || 'alembic')).not.toThrow();
  });

  it('leaves a pyproject.toml config alone', () => {
    expect(() => checkAlembicConfig(ini('pyproject.toml', '[tool.alembic]\nscript_location = "nowhere"\n'), root, 'alembic', root)).not.toThrow();
  });

  it('says where a relative script_location is found, with both fixes', () => {
    const run = check('db/alembic.ini', '[alembic]\nscript_location = schema\n');
    expect(run).toThrow(UserError);
    expect(run).toThrow(
      `db/alembic.ini: [alembic] script_location = schema: Alembic resolves a relative script_location from the directory it runs in, ` +
        `and schema does not exist from the repository root (${join(root, 'schema')}); it exists beside db/alembic.ini (${join(root, 'db', 'schema')}).`,
    );
    expect(run).toThrow('(in the GitHub Action, `working-directory: db`)');
    expect(run).toThrow('or make the path relative to the config file: script_location = %(here)s/schema in db/alembic.ini, which works from anywhere.');
  });

  it('the first fix names --config when the file is not called alembic.ini; the second keeps a nested path', () => {
    const run = () => checkAlembicConfigOf({ config: ini('db/migrations.ini', '[alembic]\nscript_location = ./schema/versions/\n'), cwd: root, section: 'alembic' }, root);
    expect(run).toThrow(/--cwd \S+ --config migrations\.ini \(in the GitHub Action, `working-directory: db` and `alembic-config: migrations\.ini`\)/);
    expect(run).toThrow('script_location = %(here)s/schema/versions in db/migrations.ini');
  });

  it('says when the folder is found from neither place, naming both', () => {
    const run = check('db/alembic.ini', '[alembic]\nscript_location = migraitons\n');
    expect(run).toThrow(
      `db/alembic.ini: [alembic] script_location = migraitons: no such folder. Looked for ${join(root, 'migraitons')} ` +
        `(from the repository root, where alembic runs) and ${join(root, 'db', 'migraitons')} (beside db/alembic.ini).`,
    );
  });

  it('points at an inline comment that configparser keeps in the value', () => {
    const run = check('alembic.ini', '[alembic]\nscript_location = migrations  # the folder with env.py\n');
    expect(run).toThrow('script_location = migrations  # the folder with env.py: no such folder');
    expect(run).toThrow('configparser takes `# the folder with env.py` as part of it. Put the comment on a line of its own.');
  });

  it.each([
    ['script_location', '{alembic_dir}', '{alembic_dir}'],
    ['script_location', '{{ cookiecutter.project_slug }}/migrations', '{{ cookiecutter.project_slug }}'],
    ['script_location', '${ALEMBIC_DIR}', '${ALEMBIC_DIR}'],
    ['script_location', '${ALEMBIC_DIR:-migrations}', '${ALEMBIC_DIR:-migrations}'],
    ['script_location', '$APP_ROOT/migrations', '$APP_ROOT'],
    ['script_location', '%(here)s/{alembic_dir}', '{alembic_dir}'],
    ['version_locations', '%(here)s/migrations/versions ${EXTRA_VERSIONS}', '${EXTRA_VERSIONS}'],
    ['prepend_sys_path', '{src_dir}', '{src_dir}'],
  ])('names the template placeholder in %s = %s', (key, value, placeholder) => {
    const text = `[alembic]\n${key === 'script_location' ? '' : 'script_location = migrations\n'}${key} = ${value}\n`;
    const run = check('alembic.ini', text);
    expect(run).toThrow(UserError);
    expect(run).toThrow(`alembic.ini: [alembic] ${key} = ${value}: ${placeholder} is a placeholder left for a program or a template to fill in`);
    expect(run).toThrow('Commit an Alembic config for CI');
    expect(run).toThrow('or pass --config with a filled-in copy.');
  });

  it('names a %(name)s that the file gives no value (a program passes config_args)', () => {
    const run = check('cfg/alembic.ini', '[alembic]\nscript_location = %(migrations_dir)s\n');
    expect(run).toThrow('cfg/alembic.ini: [alembic] script_location = %(migrations_dir)s: %(migrations_dir)s has no value in the file');
  });

  it('finds a placeholder that comes through [DEFAULT], and never mistakes the config folder for one', () => {
    expect(check('alembic.ini', '[DEFAULT]\nbase = ${DEPLOY_ROOT}\n[alembic]\nscript_location = %(base)s/migrations\n')).toThrow(
      'script_location = %(base)s/migrations: ${DEPLOY_ROOT} is a placeholder',
    );
    const odd = join(root, '$HOME{x}');
    mkdirSync(join(odd, 'migrations'), { recursive: true });
    expect(() => checkAlembicConfig(ini('$HOME{x}/alembic.ini', '[alembic]\nscript_location = %(here)s/migrations\n'), root, 'alembic', root)).not.toThrow();
  });
});

describe('through the CLI', () => {
  const projects: FixtureProject[] = [];
  afterEach(() => {
    for (const project of projects.splice(0)) project.remove();
  });
  const project = (fixture: string, base: Record<string, string | null> = {}) => {
    const made = layoutProject({ '': fixture }, base);
    projects.push(made);
    return made;
  };
  const check = (dir: string, args: string[], cwd = dir) => runCli(['check', '--python', PYTHON, '--base', 'base', ...args], { cwd });

  function expectExit2(result: { code: number; stdout: string; stderr: string }, ...parts: string[]) {
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^alembic-guard: /m);
    for (const part of parts) expect(result.stderr).toContain(part);
  }

  describe('alembic.ini in db/ with script_location = migrations (run as `cd db && alembic upgrade head`)', () => {
    it('from the repository root with --config db/alembic.ini: exit 2 with both fixes, in text and in JSON', async () => {
      const repo = project(DB_FOLDER);
      const text = await check(repo.dir, ['--config', 'db/alembic.ini']);
      expectExit2(
        text,
        'db/alembic.ini: [alembic] script_location = migrations: Alembic resolves a relative script_location from the directory it runs in',
        `it exists beside db/alembic.ini (${join(repo.dir, 'db', 'migrations')})`,
        '--cwd db (in the GitHub Action, `working-directory: db`)',
        'script_location = %(here)s/migrations in db/alembic.ini',
      );
      expect(text.stdout).toBe('');

      const json = await check(repo.dir, ['--config', 'db/alembic.ini', '--format', 'json']);
      expect(json.code).toBe(2);
      const report = JSON.parse(json.stdout);
      expect(report).toMatchObject({ version: 1, status: 'error', findings: [] });
      expect(report.error.message).toContain('db/alembic.ini: [alembic] script_location = migrations');
      expect(report.error.message).toContain('--cwd db');
      expect(report.error.message).toContain('script_location = %(here)s/migrations');
    });

    it('the first fix works: --cwd db', async () => {
      const repo = project(DB_FOLDER);
      const result = await check(repo.dir, ['--cwd', 'db', '--format', 'json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ status: 'pass', revisions: { total: 1 } });
    });

    it('the second fix works: script_location = %(here)s/migrations, from the root', async () => {
      const repo = project(DB_FOLDER);
      repo.write('db/alembic.ini', repo.read('db/alembic.ini').replace('script_location = migrations', 'script_location = %(here)s/migrations'));
      const result = await check(repo.dir, ['--config', 'db/alembic.ini', '--format', 'json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ status: 'pass', revisions: { total: 1 } });
    });

    it('gives --cwd relative to where the command runs', async () => {
      const repo = project(DB_FOLDER);
      const result = await check(repo.dir, ['--cwd', '..', '--config', 'db/alembic.ini'], join(repo.dir, 'app'));
      expectExit2(result, '--cwd ../db (in the GitHub Action, `working-directory: db`)');
    });

    it('a script_location found from neither place: exit 2 naming the file, the section, the value and both places', async () => {
      const repo = project(DB_FOLDER);
      repo.write('db/alembic.ini', repo.read('db/alembic.ini').replace('script_location = migrations', 'script_location = db/migration'));
      expectExit2(
        await check(repo.dir, ['--config', 'db/alembic.ini']),
        `db/alembic.ini: [alembic] script_location = db/migration: no such folder. Looked for ${join(repo.dir, 'db', 'migration')} ` +
          `(from the repository root, where alembic runs) and ${join(repo.dir, 'db', 'db', 'migration')} (beside db/alembic.ini).`,
      );
    });
  });

  describe('an alembic.ini that is a template (filled in by scripts/render_alembic_ini.py)', () => {
    it('exit 2 naming the file, the key and the placeholder, in text and in JSON', async () => {
      const repo = project(TEMPLATE);
      const message =
        'alembic.ini: [alembic] script_location = {alembic_dir}: {alembic_dir} is a placeholder left for a program or a template to fill in, ' +
        'so Alembic cannot use this file as it is. Commit an Alembic config for CI with the real path (e.g. script_location = %(here)s/migrations), ' +
        'or pass --config with a filled-in copy.';
      expectExit2(await check(repo.dir, []), message);
      const json = await check(repo.dir, ['--format', 'json']);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({ status: 'error', error: { message }, findings: [] });
    });

    it.each([
      ['script_location = {alembic_dir}', 'script_location = {{ cookiecutter.alembic_dir }}', 'script_location = {{ cookiecutter.alembic_dir }}: {{ cookiecutter.alembic_dir }} is a placeholder'],
      ['script_location = {alembic_dir}', 'script_location = ${ALEMBIC_DIR}', 'script_location = ${ALEMBIC_DIR}: ${ALEMBIC_DIR} is a placeholder'],
      ['script_location = {alembic_dir}', 'script_location = $APP_HOME/migrations', 'script_location = $APP_HOME/migrations: $APP_HOME is a placeholder'],
      ['script_location = {alembic_dir}', 'script_location = %(alembic_dir)s', 'script_location = %(alembic_dir)s: %(alembic_dir)s has no value in the file'],
      ['prepend_sys_path = .', 'prepend_sys_path = ${SRC_DIR}', 'prepend_sys_path = ${SRC_DIR}: ${SRC_DIR} is a placeholder'],
    ])('%s written as %s', async (line, replacement, message) => {
      const repo = project(TEMPLATE);
      let text = repo.read('alembic.ini').replace(line, replacement);
      if (!replacement.startsWith('script_location')) text = text.replace('script_location = {alembic_dir}', 'script_location = migrations');
      repo.write('alembic.ini', text);
      expectExit2(await check(repo.dir, []), `alembic.ini: [alembic] ${message}`);
    });

    it('version_locations with a placeholder', async () => {
      const repo = project(TEMPLATE);
      repo.write(
        'alembic.ini',
        repo.read('alembic.ini').replace('script_location = {alembic_dir}', 'script_location = migrations\nversion_locations = %(here)s/migrations/versions {extra_versions}'),
      );
      expectExit2(await check(repo.dir, []), 'version_locations = %(here)s/migrations/versions {extra_versions}: {extra_versions} is a placeholder', 'e.g. version_locations = %(here)s/migrations/versions');
    });

    it('a placeholder left in sqlalchemy.url only is fine: the disposable database replaces that URL', async () => {
      const repo = project(TEMPLATE);
      repo.write('alembic.ini', repo.read('alembic.ini').replace('script_location = {alembic_dir}', 'script_location = migrations'));
      expect(repo.read('alembic.ini')).toContain('sqlalchemy.url = {database_url}');
      const result = await check(repo.dir, ['--format', 'json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ status: 'pass', revisions: { total: 1 } });
    });

    it('the fix works: --config with the copy the project\'s own script fills in', async () => {
      const repo = project(TEMPLATE);
      execFileSync(PYTHON, ['scripts/render_alembic_ini.py', 'build/alembic.ini', '--alembic-dir', 'migrations'], { cwd: repo.dir });
      expect(repo.read('build/alembic.ini')).toContain('script_location = migrations\n');
      const result = await check(repo.dir, ['--config', 'build/alembic.ini', '--format', 'json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ status: 'pass', revisions: { total: 1 } });
    });

    it('a package:path script_location (app:migrations) is left to Alembic, and works', async () => {
      const migrations = join(TEMPLATE, 'migrations');
      const files: Record<string, string> = {
        'alembic.ini': readFileSync(join(TEMPLATE, 'alembic.ini'), 'utf8').replace('script_location = {alembic_dir}', 'script_location = app:migrations'),
      };
      for (const name of ['env.py', 'script.py.mako']) files[`app/migrations/${name}`] = readFileSync(join(migrations, name), 'utf8');
      for (const name of readdirSync(join(migrations, 'versions'))) {
        files[`app/migrations/versions/${name}`] = readFileSync(join(migrations, 'versions', name), 'utf8');
      }
      const repo = project(TEMPLATE, files);
      expect(repo.read('alembic.ini')).toContain('script_location = app:migrations\n');
      const result = await check(repo.dir, ['--format', 'json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ status: 'pass', revisions: { total: 1 } });
    });
  });
});
