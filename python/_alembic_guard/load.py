"""Loads the project's Alembic setup in the order a deploy has it: environment first, then config, URL and revisions.

Every variable the project's Python gets is set before the first line of project code runs (env.py, the models and
the revision files that import them read settings at import time).
"""

import importlib.util
import os
import sys
import traceback
import warnings

from .errors import HelperError, error_from_exception
from .base_tree import point_imports_at
from .project import PROJECT
from .paths import read_source
from .scan import scan_source

# Imported by `hello`, while Postgres starts: the work every check needs before it can load the project.
_WARM_MODULES = (
    "sqlalchemy.engine",
    "alembic.config",
    "alembic.script",
    "alembic.runtime.environment",
    "alembic.runtime.migration",
    "alembic.autogenerate",
    "alembic.operations",
)


def cmd_hello(args):
    versions = {"python": sys.version.split()[0]}
    for module in ("sqlalchemy", "alembic"):
        try:
            mod = __import__(module)
        except ImportError as exc:
            raise HelperError(
                "missing-module",
                "%s is not installed in %s (%s)" % (module, sys.executable, exc),
                detail=module,
            )
        versions[module] = getattr(mod, "__version__", "?")
    for module in _WARM_MODULES:
        try:
            __import__(module)
        except ImportError:
            pass  # an older Alembic without one of them: loaded when needed, or reported then
    versions["executable"] = sys.executable
    return versions


# What an async env.py says (Alembic's `async` template and the projects written from it).
_ASYNC_MARKERS = ("async_engine_from_config", "create_async_engine", "AsyncEngine", "run_sync(", "asyncio.run(")
# Drivers in order of preference; each is both the module to find and SQLAlchemy's dialect name.
_SYNC_DRIVERS = ("psycopg2", "psycopg", "pg8000")
_ASYNC_DRIVERS = ("asyncpg", "psycopg")


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def env_py_is_async(script_dir):
    try:
        with open(os.path.join(script_dir, "env.py"), encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return False
    return any(marker in text for marker in _ASYNC_MARKERS)


def choose_driver(configured_url, async_env):
    """The driver of the project's configured postgres scheme; else an installed one that suits env.py; else None.

    None is not an error here: env.py may build its own URL (from variables given with --database-env), and a
    URL it takes from the config then fails with the driver's own ImportError, which the replay reports.
    """
    scheme = configured_url.split("://", 1)[0] if "://" in (configured_url or "") else ""
    if scheme.startswith("postgres") and "+" in scheme:
        return "postgresql+" + scheme.split("+", 1)[1]
    for driver in _ASYNC_DRIVERS if async_env else _SYNC_DRIVERS:
        if _installed(driver):
            return "postgresql+" + driver
    return None


def _push_flask_app(spec):
    """`package.module:create_app()` or `package.module:app` -> push its application context."""
    module_name, _, attr = spec.partition(":")
    try:
        module = __import__(module_name, fromlist=["_"])
        target = attr or "app"
        call = target.endswith("()")
        obj = getattr(module, target[:-2] if call else target)
        app = obj() if call else obj
        app.app_context().push()
    except HelperError:
        raise
    except BaseException as exc:
        raise error_from_exception("flask-app", exc, "--flask-app %s could not be loaded" % spec)


def _read_config(config_path, section):
    """The Alembic Config and its ScriptDirectory; reads files only, runs no project code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = Config(config_path, ini_section=section or "alembic")
    try:
        script_location = config.get_main_option("script_location")
    except Exception as exc:
        raise HelperError("config", "%s could not be read: %s" % (config_path, exc), file=config_path)
    if not script_location and os.path.isfile(os.path.join(os.path.dirname(config_path), "env.py")):
        # Flask-Migrate's migrations/alembic.ini has no script_location: Flask-Migrate passes the folder holding it.
        script_location = os.path.dirname(config_path)
        config.set_main_option("script_location", script_location.replace("%", "%%"))
    if not script_location:
        raise HelperError(
            "config",
            "%s has no script_location in its [%s] section: add `script_location = migrations` (the folder that holds env.py)"
            % (config_path, config.config_ini_section),
            file=config_path,
        )
    try:
        script = ScriptDirectory.from_config(config)
    except CommandError as exc:
        raise HelperError(
            "config",
            "%s: script_location = %s: %s" % (config_path, script_location, exc),
            file=config_path,
        )
    return config, script


def _point_at_database(config, script, args):
    """sqlalchemy.url, DATABASE_URL, --env values and --database-env templates: all set before project code runs."""
    from sqlalchemy.engine import URL

    db = args["database"]
    driver = choose_driver(config.get_main_option("sqlalchemy.url"), env_py_is_async(script.dir))
    url = URL.create(
        driver or "postgresql",
        username=db["user"],
        password=db["password"] or None,
        host=db["host"],
        port=db["port"],
        database=db["database"],
    ).render_as_string(hide_password=False)
    PROJECT.url = url
    PROJECT.database = db
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    parts = {
        "host": db["host"],
        "port": str(db["port"]),
        "user": db["user"],
        "password": db["password"],
        "database": db["database"],
        "url": url,
    }
    # Settings that are not about the database first: the disposable database's own values win over them.
    for key, value in (args.get("environment") or {}).items():
        os.environ[key] = value
    os.environ["DATABASE_URL"] = url
    for key, template in (args.get("databaseEnvironment") or {}).items():
        try:
            os.environ[key] = template.format(**parts)
        except (KeyError, IndexError, ValueError) as exc:
            raise HelperError(
                "config",
                "--database-env %s=%s: unknown placeholder %s; use {host}, {port}, {user}, {password}, {database} or {url}"
                % (key, template, exc),
            )
    return url, driver


_SETTINGS_HINT = (
    "A setting the project reads from the environment at import time is given with --env NAME=VALUE "
    "(or env = { NAME = \"VALUE\" } under [tool.alembic-guard]); the database's with --database-env."
)


def _migration_import_error(exc, script):
    """Names the revision file whose import raised (its import line), and where in the project the error came from."""
    folders = [os.path.abspath(p) + os.sep for p in script._version_locations]
    migration = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = os.path.abspath(frame.f_code.co_filename)
        if any(filename.startswith(folder) for folder in folders):
            migration = (filename, lineno)
            break
    error = error_from_exception("migration-import", exc, "A migration file raised while Alembic loaded it")
    if migration is None:
        error.message += ". " + _SETTINGS_HINT
        return error
    raised_at = ""
    if error.file and (error.file, error.line) != migration:
        raised_at = " (raised at %s:%s)" % (os.path.relpath(error.file, PROJECT.root or os.getcwd()), error.line)
    error.message = "Loading this migration raised%s: %s. %s" % (
        raised_at,
        "".join(traceback.format_exception_only(type(exc), exc)).strip(),
        _SETTINGS_HINT,
    )
    error.file, error.line = migration
    return error


def cmd_load(args):
    """Environment, config, database URL, Flask app, then every revision file (the first project code to run)."""
    root = os.path.abspath(args["root"])
    PROJECT.root = root
    os.chdir(root)
    if root not in sys.path:
        sys.path.insert(0, root)
    if args.get("workingTree"):  # this process checks the base commit's copy of the project
        point_imports_at(args["workingTree"], args["copyRoot"])

    config_path = os.path.abspath(args["config"])
    config, script = _read_config(config_path, args.get("section"))
    url, driver = _point_at_database(config, script, args)
    if args.get("flaskApp"):
        _push_flask_app(args["flaskApp"])

    # Load every revision file ourselves first: syntax errors and duplicate ids get a file name.
    seen = {}
    try:
        scripts = list(script._load_revisions())
    except SyntaxError as exc:
        raise HelperError(
            "migration-syntax",
            "%s does not compile: %s" % (exc.filename, exc.msg),
            file=os.path.abspath(exc.filename) if exc.filename else None,
            line=exc.lineno,
        )
    except BaseException as exc:
        raise _migration_import_error(exc, script)
    for sc in scripts:
        seen.setdefault(sc.revision, []).append(os.path.abspath(sc.path))
    duplicates = {rev: paths for rev, paths in seen.items() if len(paths) > 1}
    if duplicates:
        rev, paths = sorted(duplicates.items())[0]
        raise HelperError(
            "duplicate-revision",
            "revision id %s is declared by %d files: %s; give each migration its own id"
            % (rev, len(paths), ", ".join(sorted(paths))),
            file=sorted(paths)[-1],
            detail=duplicates,
        )

    for sc in scripts:
        down = sc.down_revision
        for label, refs in (("down_revision", down), ("depends_on", sc.dependencies)):
            if refs is None:
                continue
            for ref in [refs] if isinstance(refs, str) else list(refs):
                if ref not in seen and not any(ref in (other.branch_labels or ()) for other in scripts):
                    raise HelperError(
                        "revision-graph",
                        "revision %s has %s = %r, which no migration declares: point it at an existing revision "
                        "(`alembic heads` lists them) or restore the missing migration" % (sc.revision, label, ref),
                        file=os.path.abspath(sc.path),
                        line=scan_source(read_source(sc.path), sc.path)["downRevisionLine"],
                    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            heads = list(script.get_heads())
            walked = list(script.walk_revisions(base="base", head="heads"))
        except BaseException as exc:
            message = str(exc)
            culprit = None
            for rev, paths in seen.items():
                if rev and ("%s " % rev in message or "'%s'" % rev in message or message.endswith(rev)):
                    culprit = paths[0]
            raise HelperError(
                "revision-graph",
                "The revision graph cannot be built: %s" % message,
                file=culprit,
            )

    PROJECT.config = config
    PROJECT.script = script
    PROJECT.revision_paths = {}
    revisions = []
    for sc in walked:
        path = os.path.abspath(sc.path)
        PROJECT.revision_paths[path] = sc.revision
        down = sc.down_revision
        if down is None:
            down = []
        elif isinstance(down, str):
            down = [down]
        else:
            down = list(down)
        deps = sc.dependencies
        if deps is None:
            deps = []
        elif isinstance(deps, str):
            deps = [deps]
        info = scan_source(read_source(path), path)
        revisions.append(
            {
                "revision": sc.revision,
                "downRevisions": down,
                "dependsOn": list(deps),
                "branchLabels": sorted(sc.branch_labels or []),
                "path": path,
                "message": (sc.doc or "").strip(),
                "revisionLine": info["revisionLine"],
                "downRevisionLine": info["downRevisionLine"],
                "upgradeLine": info["upgradeLine"],
                "downgradeLine": info["downgradeLine"],
                "upgradeIsEmpty": info["upgradeIsEmpty"],
                "ops": info["ops"],
                "directives": info["directives"],
            }
        )
    revisions.reverse()  # base first
    return {
        "url": url,
        "driver": driver,
        "configPath": config_path,
        "scriptLocation": os.path.abspath(script.dir),
        "versionLocations": [os.path.abspath(p) for p in script._version_locations],
        "heads": heads,
        "revisions": revisions,
    }
