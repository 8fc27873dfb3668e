"""Replays migrations with the project's env.py, attributing each statement to its revision and observing what it did.

One request is one Alembic run, as `alembic upgrade` is in a deploy: state SQLAlchemy keeps within a run (a named
ENUM created once) and the transaction layout env.py configures are those of production. What each revision did is
observed from inside the run, on the migration's own connection, which sees its own uncommitted DDL.
"""

import os
import sys
import time
import traceback
import weakref

from .errors import HelperError, frame_in_project
from .project import PROJECT

_RELATIONS_SQL = """
SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, c.relfilenode::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'i', 'm', 't')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%%'
"""

_LOCKS_SQL = """
SELECT n.nspname::text, c.relname::text, c.relkind::text, l.mode
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
        # Locks the transaction already held when the revision's first statement ran: an earlier revision's, when
        # env.py runs several revisions in one transaction (Alembic's default). Statements do not take them again.
        self.held_at_start = set()

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
            self.held_at_start = set(self.locks)

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
        self.held_at_start = set()


# Engines the project's code used: a pool kept across replays (Flask-SQLAlchemy's) holds connections to a scratch
# database that may since have been dropped and recreated, so each replay starts by emptying their pools.
_ENGINES = weakref.WeakSet()


class Recorder:
    """Collects the SQL each revision executes, from SQLAlchemy's cursor events and Alembic's callbacks."""

    def __init__(self, revision_paths, snapshot=None):
        self.revision_paths = revision_paths
        self.applied = []
        self.pending = []
        self.in_version_update = False
        self.mark = None
        self.observer = None  # set while a step is observed
        # {"sql": one query returning the schema as JSON text, "revisions": ids to snapshot after}
        self.snapshot = snapshot

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
        entry = {
            "revision": revision,
            "upgrade": bool(step.is_upgrade),
            "seconds": round(now - self.mark, 6) if self.mark is not None else None,
            "statements": mine,
        }
        self.applied.append(entry)
        self.pending = []
        if self.observer is not None:
            version_table = getattr(ctx, "version_table", "alembic_version")
            entry["heldAtStart"] = [
                {"relation": r, "kind": k, "mode": m}
                for r, k, m in sorted(self.observer.held_at_start)
                if r.rsplit(".", 1)[-1] != version_table
            ]
        if self.snapshot and step.is_upgrade and revision in self.snapshot["revisions"]:
            taken = time.perf_counter()
            entry["schema"] = Observer._query(ctx.connection, self.snapshot["sql"])[0][0]
            entry["snapshotSeconds"] = round(time.perf_counter() - taken, 6)
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
    """`alembic upgrade|downgrade <target>` on the already loaded script directory (no second read of the folder).

    `target` may be a list of revisions: one run up to all of them (history with several heads).
    """
    from alembic.runtime.environment import EnvironmentContext

    script = PROJECT.script
    if isinstance(target, list):
        target = tuple(target) if len(target) > 1 else target[0]

    def upgrade(rev, context):
        return script._upgrade_revs(target, rev)

    def downgrade(rev, context):
        return script._downgrade_revs(target, rev)

    fn = upgrade if direction == "upgrade" else downgrade
    with EnvironmentContext(PROJECT.config, script, fn=fn, as_sql=False, starting_rev=None, destination_rev=target):
        script.run_env()


def cmd_replay(args):
    """Runs `steps` in order ({direction, target, observe}), each one Alembic run; stops at the first failure.

    `snapshot` ({sql, revisions}): after each of those revisions, inside the run, the schema as JSON text.
    """
    for engine in list(_ENGINES):
        engine.dispose()
    recorder = Recorder({path: rev for path, rev in PROJECT.revision_paths.items()}, args.get("snapshot"))
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
        where = frame_in_project(exc.__traceback__)
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
