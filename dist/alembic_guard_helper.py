"""alembic-guard's Python side: loads the project's Alembic setup, replays migrations and runs autogenerate.

Speaks newline-delimited JSON: one request per line on stdin, one response per line on the file
descriptor that was stdout when the helper started. Everything the project's code prints goes to
stderr. Imports only the standard library, SQLAlchemy and Alembic.
"""

import ast
import io
import json
import os
import sys
import time
import traceback
import warnings
import weakref

PROTOCOL_VERSION = 1


class HelperError(Exception):
    """A problem the user must fix; `kind` tells the TypeScript side which one."""

    def __init__(self, kind, message, file=None, line=None, detail=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
        self.detail = detail

    def as_json(self):
        return {
            "kind": self.kind,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "detail": self.detail,
        }


# ---------------------------------------------------------------------------------------------
# Source scanning (no project code runs here)


def _literal(node):
    try:
        return ast.literal_eval(node)
    except Exception:
        return None


def _assigned_names(node):
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)], node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id], node.value
    return [], None


def _call_name(func):
    """`op.add_column` -> ("op", "add_column"); `batch_op.alter_column` -> ("batch_op", "alter_column")."""
    if isinstance(func, ast.Attribute):
        base = func.value
        if isinstance(base, ast.Name):
            return base.id, func.attr
        if isinstance(base, ast.Call):  # op.get_context().autocommit_block()
            inner = _call_name(base.func)
            if inner:
                return inner[0], func.attr
    return None


def _is_noop_body(body):
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring or bare literal
        return False
    return True


_DIRECTIVE = "alembic-guard:"


def _directives(text, tree):
    """`# alembic-guard: ignore[rule-a, rule-b] reason` comments, read with tokenize (never from inside strings).

    A comment after code applies to that line; a comment alone on its line applies to the next line of code
    when it stands inside a function, and to the whole file when it stands at module level.
    """
    import tokenize

    functions = [
        (node.lineno, getattr(node, "end_lineno", node.lineno))
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    found = []
    code_lines = set()
    comments = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                comments.append((tok.start[0], tok.string, tok.line[: tok.start[1]].strip() == ""))
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                for line in range(tok.start[0], tok.end[0] + 1):
                    code_lines.add(line)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return found
    for line, comment, alone in comments:
        body = comment.lstrip("#").strip()
        if not body.startswith(_DIRECTIVE):
            continue
        rest = body[len(_DIRECTIVE):].strip()
        entry = {"line": line, "rules": [], "reason": "", "scope": "line", "target": line, "error": None}
        if not rest.startswith("ignore[") or "]" not in rest:
            entry["error"] = "expected `# alembic-guard: ignore[rule-id] reason`"
            found.append(entry)
            continue
        inside, _, reason = rest[len("ignore["):].partition("]")
        entry["rules"] = [r.strip() for r in inside.split(",") if r.strip()]
        entry["reason"] = reason.strip()
        if alone:
            in_function = any(start <= line <= end for start, end in functions)
            if in_function:
                following = [l for l in sorted(code_lines) if l > line]
                entry["target"] = following[0] if following else line
            else:
                entry["scope"] = "file"
        found.append(entry)
    return found


def scan_source(text, path="<source>"):
    """What a migration file declares, read with `ast`: ids, assignment lines and every op.* call."""
    tree = ast.parse(text, filename=path)
    result = {
        "revision": None,
        "downRevision": None,
        "revisionLine": None,
        "downRevisionLine": None,
        "ops": [],
        "upgradeIsEmpty": None,
        "upgradeLine": None,
        "downgradeLine": None,
    }
    batch_names = set()
    for node in tree.body:
        names, value = _assigned_names(node)
        if "revision" in names:
            result["revision"] = _literal(value)
            result["revisionLine"] = node.lineno
        if "down_revision" in names:
            down = _literal(value)
            if isinstance(down, (list, tuple)):
                down = list(down)
            result["downRevision"] = down
            result["downRevisionLine"] = node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in ("upgrade", "downgrade"):
            result[node.name + "Line"] = node.lineno
            if node.name == "upgrade":
                result["upgradeIsEmpty"] = _is_noop_body(node.body)
            for sub in ast.walk(node):
                if isinstance(sub, (ast.With, ast.AsyncWith)):
                    for item in sub.items:
                        call = item.context_expr
                        if isinstance(call, ast.Call) and isinstance(item.optional_vars, ast.Name):
                            name = _call_name(call.func)
                            if name and name[0] == "op" and name[1] == "batch_alter_table":
                                batch_names.add(item.optional_vars.id)
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call):
                    name = _call_name(sub.func)
                    if name and (name[0] == "op" or name[0] in batch_names):
                        result["ops"].append(
                            {
                                "function": node.name,
                                "call": name[1],
                                "batch": name[0] != "op",
                                "line": sub.lineno,
                                "endLine": getattr(sub, "end_lineno", sub.lineno),
                            }
                        )
    result["ops"].sort(key=lambda o: (o["line"], o["call"]))
    result["directives"] = _directives(text, tree)
    return result


def cmd_scan_sources(args):
    out = []
    for item in args["files"]:
        try:
            info = scan_source(item["text"], item["path"])
            info["path"] = item["path"]
            info["syntaxError"] = None
        except SyntaxError as exc:
            info = {"path": item["path"], "revision": None, "syntaxError": "%s (line %s)" % (exc.msg, exc.lineno)}
        out.append(info)
    return {"files": out}


# ---------------------------------------------------------------------------------------------
# The project's Alembic setup


class Project:
    def __init__(self):
        self.config = None
        self.script = None
        self.revision_paths = {}  # absolute file path -> revision id
        self.root = None
        self.url = None
        self.database = None  # the disposable database's host, port and name, once `database` ran


PROJECT = Project()


def _choose_driver(configured_url):
    """Keep the driver of the project's configured postgres scheme; otherwise pick an installed one."""
    scheme = (configured_url or "").split("://", 1)[0] if "://" in (configured_url or "") else ""
    if scheme.startswith("postgresql") or scheme.startswith("postgres"):
        if "+" in scheme:
            return "postgresql+" + scheme.split("+", 1)[1]
    for module, driver in (("psycopg2", "psycopg2"), ("psycopg", "psycopg"), ("pg8000", "pg8000")):
        try:
            __import__(module)
            return "postgresql+" + driver
        except ImportError:
            continue
    raise HelperError(
        "driver",
        "No PostgreSQL driver is installed in this Python: install one (pip install 'psycopg[binary]' or psycopg2-binary) "
        "or pass --python to pick the interpreter that has the project's dependencies.",
    )


def _frame_in_project(tb):
    """The deepest traceback frame inside the project (not in site-packages), as (file, line)."""
    best = None
    root = PROJECT.root or os.getcwd()
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename.startswith("<"):  # <frozen os>, <string>
            continue
        filename = os.path.abspath(frame.f_code.co_filename)
        if filename.startswith(root + os.sep) and "site-packages" not in filename:
            best = (filename, lineno)
    return best


def _error_from_exception(kind, exc, prefix):
    where = None
    if isinstance(exc, SyntaxError) and exc.filename:
        where = (os.path.abspath(exc.filename), exc.lineno)
    if where is None:
        where = _frame_in_project(exc.__traceback__)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    tb_text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return HelperError(
        kind,
        "%s: %s" % (prefix, text),
        file=where[0] if where else None,
        line=where[1] if where else None,
        detail=tb_text,
    )


def cmd_hello(args):
    versions = {"python": sys.version.split()[0], "protocol": PROTOCOL_VERSION}
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
    versions["executable"] = sys.executable
    return versions


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
        raise _error_from_exception("flask-app", exc, "--flask-app %s could not be loaded" % spec)


def cmd_load(args):
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    root = os.path.abspath(args["root"])
    PROJECT.root = root
    os.chdir(root)
    if root not in sys.path:
        sys.path.insert(0, root)

    config_path = os.path.abspath(args["config"])
    config = Config(config_path, ini_section=args.get("section") or "alembic")
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
        raise _error_from_exception("migration-import", exc, "A migration file raised while Alembic loaded it")
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
                        line=scan_source(open(sc.path, encoding="utf-8").read(), sc.path)["downRevisionLine"],
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
        with open(path, encoding="utf-8") as fh:
            info = scan_source(fh.read(), path)
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
        "configPath": config_path,
        "scriptLocation": os.path.abspath(script.dir),
        "versionLocations": [os.path.abspath(p) for p in script._version_locations],
        "heads": heads,
        "revisions": revisions,
    }


def cmd_database(args):
    """Points the project at the disposable database: sqlalchemy.url, DATABASE_URL and the user's mapping."""
    config = PROJECT.config
    configured_url = config.get_main_option("sqlalchemy.url")
    db = args["database"]
    driver = _choose_driver(configured_url)
    from sqlalchemy.engine import URL

    url = URL.create(
        driver,
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
    os.environ["DATABASE_URL"] = url
    for key, template in (args.get("environment") or {}).items():
        try:
            os.environ[key] = template.format(**parts)
        except (KeyError, IndexError, ValueError) as exc:
            raise HelperError(
                "config",
                "--database-env %s=%s: unknown placeholder %s; use {host}, {port}, {user}, {password}, {database} or {url}"
                % (key, template, exc),
            )

    if args.get("flaskApp"):
        _push_flask_app(args["flaskApp"])
    return {"url": url, "driver": driver}


# ---------------------------------------------------------------------------------------------
# Replay with per-revision attribution


_RELATIONS_SQL = """
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relfilenode
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'i', 'm', 't')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%%'
"""

_LOCKS_SQL = """
SELECT n.nspname, c.relname, c.relkind, l.mode
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%%'
"""


def _qualified(schema, name):
    return name if schema == "public" else "%s.%s" % (schema, name)


class Observer:
    """Asks Postgres, on the migration's own connection and inside its transaction, what a statement did."""

    def __init__(self):
        self.nodes = None
        self.locks = None

    @staticmethod
    def _query(conn, sql):
        dbapi_connection = conn.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql.replace("%%", "%"))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _relations(self, conn):
        return {row[0]: (_qualified(row[1], row[2]), row[3], row[4]) for row in self._query(conn, _RELATIONS_SQL)}

    def _locks(self, conn):
        return {(_qualified(r[0], r[1]), r[2], r[3]) for r in self._query(conn, _LOCKS_SQL)}

    def before(self, conn):
        if self.nodes is None:
            self.nodes = self._relations(conn)
            self.locks = self._locks(conn)

    def after(self, conn):
        nodes = self._relations(conn)
        locks = self._locks(conn)
        rewrote = sorted(
            name for oid, (name, kind, node) in nodes.items() if oid in self.nodes and self.nodes[oid][2] != node
        )
        taken = sorted(locks - self.locks)
        self.nodes, self.locks = nodes, locks
        return rewrote, [{"relation": r, "kind": k, "mode": m} for r, k, m in taken]

    def reset(self):
        self.nodes = None
        self.locks = None


# Engines the project's code used: a pool kept across replays (Flask-SQLAlchemy's) holds connections to a scratch
# database that may since have been dropped and recreated, so each replay starts by emptying their pools.
_ENGINES = weakref.WeakSet()


class Recorder:
    """Collects the SQL each revision executes, from SQLAlchemy's cursor events and Alembic's callbacks."""

    def __init__(self, revision_paths):
        self.revision_paths = revision_paths
        self.applied = []
        self.pending = []
        self.in_version_update = False
        self.mark = None
        self.observer = None  # set while a step is observed

    def revision_of_stack(self):
        frame = sys._getframe(2)
        while frame is not None:
            rev = self.revision_paths.get(frame.f_code.co_filename)
            if rev is not None:
                return rev, frame.f_lineno
            frame = frame.f_back
        return None, None

    def before_cursor_execute(self, conn, cursor, statement, parameters, context, executemany):
        _ENGINES.add(conn.engine)
        if self.in_version_update or self.mark is None:
            return
        rev, line = self.revision_of_stack()
        entry = {"sql": statement, "revision": rev, "line": line, "seconds": None}
        if self.observer is not None:
            self.observer.before(conn)
        conn.info.setdefault("alembic_guard_started", []).append((entry, time.perf_counter()))
        self.pending.append(entry)

    def after_cursor_execute(self, conn, cursor, statement, parameters, context, executemany):
        started = conn.info.get("alembic_guard_started")
        if started:
            entry, t0 = started.pop()
            entry["seconds"] = round(time.perf_counter() - t0, 6)
            if self.observer is not None:
                entry["rewrote"], entry["locks"] = self.observer.after(conn)

    def on_version_apply(self, ctx, step, heads, run_args):
        now = time.perf_counter()
        revision = step.up_revision_id
        mine = [s for s in self.pending if s["revision"] in (None, revision)]
        self.applied.append(
            {
                "revision": revision,
                "upgrade": bool(step.is_upgrade),
                "seconds": round(now - self.mark, 6) if self.mark is not None else None,
                "statements": mine,
            }
        )
        self.pending = []
        self.mark = time.perf_counter()
        if self.observer is not None:
            self.observer.reset()


def _check_target(connection):
    """Stops before any migration runs when env.py connected somewhere else than the disposable database."""
    expected = PROJECT.database
    if expected is None or connection is None:
        return
    try:
        url = connection.engine.url
    except Exception:
        return
    if url.get_backend_name() == "postgresql" and url.database == expected["database"] and (url.port or 5432) == int(expected["port"]):
        return
    raise HelperError(
        "wrong-database",
        "env.py connected to %s, not to the disposable database, so alembic-guard stopped before any migration ran: "
        "env.py takes its URL from settings that sqlalchemy.url and DATABASE_URL do not reach. Map the variables it reads "
        "with --database-env, e.g. --database-env SQLALCHEMY_DATABASE_URI={url} (Flask) or --database-env POSTGRES_SERVER={host}."
        % url.render_as_string(hide_password=True),
        file=os.path.join(PROJECT.script.dir, "env.py") if PROJECT.script is not None else None,
    )


def _install_replay_hooks(recorder):
    from alembic.runtime import migration
    from alembic.runtime.environment import EnvironmentContext
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    original_configure = EnvironmentContext.configure
    original_run = migration.MigrationContext.run_migrations
    # Alembic's own bookkeeping on alembic_version is not the migration's SQL.
    bookkeeping = [
        (migration.HeadMaintainer, "update_to_step"),
        (migration.MigrationContext, "_ensure_version_table"),
        (migration.MigrationContext, "_has_version_table"),
        (migration.MigrationContext, "get_current_heads"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name in bookkeeping if hasattr(owner, name)]

    def configure(self, *a, **kw):
        _check_target(kw.get("connection"))
        callbacks = kw.get("on_version_apply") or []
        if callable(callbacks):
            callbacks = [callbacks]
        kw["on_version_apply"] = list(callbacks) + [recorder.on_version_apply]
        return original_configure(self, *a, **kw)

    def run_migrations(self, **kw):
        recorder.mark = time.perf_counter()
        return original_run(self, **kw)

    def quiet(method):
        def wrapper(*a, **kw):
            before = recorder.in_version_update
            recorder.in_version_update = True
            try:
                return method(*a, **kw)
            finally:
                recorder.in_version_update = before

        return wrapper

    EnvironmentContext.configure = configure
    migration.MigrationContext.run_migrations = run_migrations
    for owner, name, method in originals:
        setattr(owner, name, quiet(method))
    event.listen(Engine, "before_cursor_execute", recorder.before_cursor_execute)
    event.listen(Engine, "after_cursor_execute", recorder.after_cursor_execute)

    def uninstall():
        EnvironmentContext.configure = original_configure
        migration.MigrationContext.run_migrations = original_run
        for owner, name, method in originals:
            setattr(owner, name, method)
        event.remove(Engine, "before_cursor_execute", recorder.before_cursor_execute)
        event.remove(Engine, "after_cursor_execute", recorder.after_cursor_execute)

    return uninstall


def _postgres_error(exc):
    """(sqlstate, message, statement) from a SQLAlchemy DBAPIError or a driver error, else Nones."""
    statement = getattr(exc, "statement", None)
    orig = getattr(exc, "orig", None) or exc
    code = None
    candidate = orig
    for _ in range(4):
        if candidate is None:
            break
        code = getattr(candidate, "pgcode", None) or getattr(candidate, "sqlstate", None)
        if code:
            break
        candidate = getattr(candidate, "__cause__", None)
    if not code and statement is None:
        return None, None, None
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if message.startswith("(") and ") " in message:  # "(psycopg.errors.X) message"
        message = message.split(") ", 1)[1]
    return code, message, statement


def _run(direction, target):
    """`alembic upgrade|downgrade <target>` on the already loaded script directory (no second read of the folder)."""
    from alembic.runtime.environment import EnvironmentContext

    script = PROJECT.script

    def upgrade(rev, context):
        return script._upgrade_revs(target, rev)

    def downgrade(rev, context):
        return script._downgrade_revs(target, rev)

    fn = upgrade if direction == "upgrade" else downgrade
    with EnvironmentContext(PROJECT.config, script, fn=fn, as_sql=False, starting_rev=None, destination_rev=target):
        script.run_env()


def cmd_replay(args):
    """Runs `steps` in order ({direction, target, observe}); stops at the first failure."""
    for engine in list(_ENGINES):
        engine.dispose()
    recorder = Recorder({path: rev for path, rev in PROJECT.revision_paths.items()})
    uninstall = _install_replay_hooks(recorder)
    started = time.perf_counter()
    failure = None
    try:
        for step in args.get("steps") or [{"direction": "upgrade", "target": "heads"}]:
            recorder.observer = Observer() if step.get("observe") else None
            _run(step.get("direction", "upgrade"), step["target"])
    except BaseException as exc:  # the project's code may raise anything, SystemExit included
        if isinstance(exc, (KeyboardInterrupt, HelperError)):
            raise
        failure = _describe_failure(exc, recorder)
    finally:
        recorder.observer = None
        uninstall()
    return {
        "applied": recorder.applied,
        "failure": failure,
        "seconds": round(time.perf_counter() - started, 6),
    }


def _describe_failure(exc, recorder):
    revision, file, line = None, None, None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        rev = PROJECT.revision_paths.get(filename)
        if rev is not None:
            revision, file, line = rev, filename, lineno
    code, pg_message, statement = _postgres_error(exc)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    where = None
    if revision is None:
        where = _frame_in_project(exc.__traceback__)
    return {
        "revision": revision,
        "file": file or (where[0] if where else None),
        "line": line or (where[1] if where else None),
        "inMigration": revision is not None,
        "migrationsStarted": recorder.mark is not None,
        "appliedCount": len(recorder.applied),
        "statement": statement,
        "sqlstate": code,
        "postgresMessage": pg_message,
        "exception": text,
        "exceptionType": type(exc).__name__,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


# ---------------------------------------------------------------------------------------------
# Autogenerate comparison


def _shown(value):
    """A type as DDL (`VARCHAR(20)`), anything else as its repr."""
    from sqlalchemy.types import TypeEngine

    if isinstance(value, TypeEngine):
        try:
            return str(value)
        except Exception:
            return repr(value)
    return repr(value)


def _describe_diff(diff):
    """A JSON-safe description of one autogenerate diff tuple."""
    from sqlalchemy import Column, Index, Table
    from sqlalchemy.sql.schema import Constraint

    kind = diff[0]
    table = None
    obj = None
    parts = []
    for item in diff[1:]:
        if isinstance(item, Table):
            table = item.name
        elif isinstance(item, Column):
            obj = item.name
            table = table or (item.table.name if item.table is not None else None)
        elif isinstance(item, (Index, Constraint)):
            obj = item.name
            tbl = getattr(item, "table", None)
            if tbl is not None:
                table = table or tbl.name
        else:
            parts.append(item)
    if kind.startswith("modify_") and len(diff) >= 4:
        table = diff[2]
        obj = diff[3]
    elif kind in ("add_column", "remove_column") and len(diff) >= 4:
        table = diff[2]
    text = "%s %s%s" % (
        kind,
        table or "",
        ("." + str(obj)) if obj else "",
    )
    if kind.startswith("modify_") and len(diff) >= 7:
        text += ": %s -> %s" % (_shown(diff[5]), _shown(diff[6]))
    return {"kind": kind, "table": table, "object": None if obj is None else str(obj), "text": text.strip()}


def _render(ops, migration_context, imports):
    """Python for the ops exactly as `alembic revision --autogenerate` renders it, with env.py's render options."""
    from alembic.autogenerate import render
    from alembic.autogenerate.api import AutogenContext

    autogen_context = AutogenContext(migration_context)
    autogen_context.imports = imports
    return render._indent(render._render_cmd_body(ops, autogen_context))


def cmd_compare(args):
    from alembic import command
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    captured = {}
    original_configure = EnvironmentContext.configure
    original_from_config = ScriptDirectory.from_config

    def capture(context, revision, directives):
        if directives:
            captured["script"] = directives[0]
            captured["context"] = context
        directives[:] = []  # nothing is ever written into the project

    ignored = set(args.get("ignoreObjects") or [])

    def configure(self, *a, **kw):
        user_hook = kw.get("process_revision_directives")
        user_include = kw.get("include_object")

        def include_object(obj, name, type_, reflected, compare_to):
            table = getattr(obj, "table", None)
            qualified = "%s.%s" % (table.name, name) if table is not None and getattr(table, "name", None) else name
            if name in ignored or qualified in ignored:
                return False
            return True if user_include is None else user_include(obj, name, type_, reflected, compare_to)

        if ignored:
            kw["include_object"] = include_object

        def hook(context, revision, directives):
            if user_hook is not None:
                user_hook(context, revision, directives)
            capture(context, revision, directives)

        kw["process_revision_directives"] = hook
        return original_configure(self, *a, **kw)

    EnvironmentContext.configure = configure
    ScriptDirectory.from_config = classmethod(lambda cls, config: PROJECT.script)
    started = time.perf_counter()
    try:
        command.revision(PROJECT.config, message="alembic-guard", autogenerate=True)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _error_from_exception("compare", exc, "Comparing the models with the migrated database failed")
    finally:
        EnvironmentContext.configure = original_configure
        ScriptDirectory.from_config = original_from_config

    script = captured.get("script")
    if script is None:
        return {"empty": True, "diffs": [], "upgrade": "", "downgrade": "", "imports": [], "seconds": round(time.perf_counter() - started, 6)}
    ctx = captured["context"]
    imports = set(getattr(script, "imports", set()) or set())
    upgrade_ops = script.upgrade_ops
    downgrade_ops = script.downgrade_ops
    empty = upgrade_ops is None or upgrade_ops.is_empty()
    diffs = []
    if not empty:
        for diff in upgrade_ops.as_diffs():
            if isinstance(diff, list):
                for sub in diff:
                    diffs.append(_describe_diff(sub))
            else:
                diffs.append(_describe_diff(diff))
    upgrade_code = "" if empty else "def upgrade() -> None:\n    " + _render(upgrade_ops, ctx, imports)
    downgrade_code = "" if empty else "def downgrade() -> None:\n    " + _render(downgrade_ops, ctx, imports)
    return {
        "empty": empty,
        "diffs": diffs,
        "upgrade": upgrade_code,
        "downgrade": downgrade_code,
        "imports": sorted(imports),
        "seconds": round(time.perf_counter() - started, 6),
    }


# ---------------------------------------------------------------------------------------------
# The loop


COMMANDS = {
    "hello": cmd_hello,
    "scan": cmd_scan_sources,
    "load": cmd_load,
    "database": cmd_database,
    "replay": cmd_replay,
    "compare": cmd_compare,
}


def main():
    # The protocol keeps the real stdout; anything the project prints (even from C code) goes to stderr.
    protocol = io.open(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = sys.dont_write_bytecode or bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))

    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        request = json.loads(raw)
        handler = COMMANDS.get(request.get("cmd"))
        try:
            if handler is None:
                raise HelperError("protocol", "unknown command %r" % request.get("cmd"))
            response = {"id": request.get("id"), "ok": True, "result": handler(request.get("args") or {})}
        except HelperError as exc:
            response = {"id": request.get("id"), "ok": False, "error": exc.as_json()}
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a bug here, or project code raising where nothing else caught it
            response = {
                "id": request.get("id"),
                "ok": False,
                "error": _error_from_exception("internal", exc, "alembic-guard's Python helper failed").as_json(),
            }
        protocol.write(json.dumps(response, default=str) + "\n")
        protocol.flush()
        if request.get("cmd") == "exit":
            break


if __name__ == "__main__":
    main()
