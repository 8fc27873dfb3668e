"""What `alembic revision --autogenerate` would write now, without writing anything."""

import time

from .errors import error_from_exception
from .models_ddl import models_ddl
from .project import PROJECT


def _shown(value):
    """A type as DDL (`VARCHAR(20)`), anything else as its repr."""
    from sqlalchemy.types import TypeEngine

    if isinstance(value, TypeEngine):
        try:
            return str(value)
        except Exception:
            return repr(value)
    arg = getattr(value, "arg", None)  # a server default (DefaultClause): its SQL text
    if arg is not None:
        return getattr(arg, "text", None) or repr(arg)
    return repr(value)


def _foreign_key_shown(constraint):
    """`editor_id -> users.id` for a foreign key constraint."""
    try:
        columns = ", ".join(c.name if hasattr(c, "name") else str(c) for c in constraint.columns)
        targets = ", ".join(e.target_fullname for e in constraint.elements)
        return "%s -> %s" % (columns, targets)
    except Exception:
        return "foreign key"


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
    if kind in ("add_fk", "remove_fk") and len(diff) >= 2:
        text += " (%s)" % _foreign_key_shown(diff[1])
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
        captured["context"] = context
        if directives:
            captured["script"] = directives[0]
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
        captured["configure"] = kw
        return original_configure(self, *a, **kw)

    EnvironmentContext.configure = configure
    ScriptDirectory.from_config = classmethod(lambda cls, config: PROJECT.script)
    started = time.perf_counter()
    try:
        command.revision(PROJECT.config, message="alembic-guard", autogenerate=True)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise error_from_exception("compare", exc, "Comparing the models with the migrated database failed")
    finally:
        EnvironmentContext.configure = original_configure
        ScriptDirectory.from_config = original_from_config

    script = captured.get("script")
    models = _models_ddl(captured) if args.get("modelDdl") else None
    _MODELS.clear()
    if captured.get("context") is not None and "configure" in captured:
        _MODELS.update(context=captured["context"], configure=captured["configure"])
    _LAST.clear()
    if script is None:
        return {"empty": True, "diffs": [], "upgrade": "", "downgrade": "", "imports": [], "models": models, "seconds": round(time.perf_counter() - started, 6)}
    ctx = captured["context"]
    imports = set(getattr(script, "imports", set()) or set())
    upgrade_ops = script.upgrade_ops
    downgrade_ops = script.downgrade_ops
    empty = upgrade_ops is None or upgrade_ops.is_empty()
    diffs = []
    if not empty:
        leaves = list(_leaves(upgrade_ops, ctx))
        _LAST.update(context=ctx, imports=imports, leaves=leaves)
        for _top, leaf, fingerprint in leaves:
            for diff in _diff_tuples(leaf):
                described = _describe_diff(diff)
                described["fingerprint"] = fingerprint
                diffs.append(described)
    upgrade_code = "" if empty else "def upgrade() -> None:\n    " + _render(upgrade_ops, ctx, imports)
    downgrade_code = "" if empty else "def downgrade() -> None:\n    " + _render(downgrade_ops, ctx, imports)
    return {
        "empty": empty,
        "diffs": diffs,
        "upgrade": upgrade_code,
        "downgrade": downgrade_code,
        "imports": sorted(imports),
        "models": models,
        "seconds": round(time.perf_counter() - started, 6),
    }


def _models_ddl(captured):
    """What create_all() would run for env.py's models (see models_ddl), or why it cannot be had."""
    context = captured.get("context")
    if context is None or "configure" not in captured:
        return {"error": "env.py ran no autogenerate comparison"}
    try:
        return models_ddl(captured["configure"], context.dialect) or {"error": "env.py gives no target_metadata"}
    except Exception as exc:
        return {"error": "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")}


# The last comparison's operations, so that `render` can write the migration for a part of them.
_LAST = {}
# The last comparison's migration context and env.py's configure() arguments: its models, for `render-indexes`.
_MODELS = {}


def _diff_tuples(op):
    try:
        diff = op.to_diff_tuple()
    except Exception:  # an op a process_revision_directives hook added, with no diff form
        return [("%s" % type(op).__name__,)]
    if isinstance(diff, list):
        return diff
    return [diff]


def _leaves(upgrade_ops, ctx):
    """Every operation autogenerate would write, in order, as (its top-level op, the op, its own rendered code: what
    identifies it across runs). An op inside a table's ModifyTableOps is one leaf; any other top-level op is its own."""
    from alembic.operations import ops as alembic_ops

    for top in upgrade_ops.ops:
        if isinstance(top, alembic_ops.ModifyTableOps):
            for leaf in top.ops:
                single = alembic_ops.ModifyTableOps(top.table_name, [leaf], schema=top.schema)
                yield top, leaf, _fingerprint(alembic_ops.UpgradeOps(ops=[single]), ctx)
        else:
            yield top, top, _fingerprint(alembic_ops.UpgradeOps(ops=[top]), ctx)


def _fingerprint(upgrade_ops, ctx):
    """The op's code as autogenerate renders it, outside batch mode: a PR that turns on render_as_batch in env.py
    (or off) renders the same difference inside `with op.batch_alter_table(...)`; it is still the same difference."""
    from alembic.autogenerate import render
    from alembic.autogenerate.api import AutogenContext

    autogen_context = AutogenContext(ctx, opts=dict(ctx.opts, render_as_batch=False))
    autogen_context.imports = set()
    code = render._indent(render._render_cmd_body(upgrade_ops, autogen_context))
    return "\n".join(line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("#"))


def cmd_render(args):
    """The migration for the last comparison's operations minus those whose fingerprint is in `exclude`."""
    from alembic.operations import ops as alembic_ops

    if not _LAST:
        return {"upgrade": "", "downgrade": "", "imports": []}
    ctx = _LAST["context"]
    excluded = set(args.get("exclude") or [])
    kept = []  # top-level ops; for a table's ModifyTableOps, a copy holding only its kept leaves
    copy_of = {}
    for top, leaf, fingerprint in _LAST["leaves"]:
        if fingerprint in excluded:
            continue
        if leaf is top:
            kept.append(top)
            continue
        if id(top) not in copy_of:
            copy_of[id(top)] = alembic_ops.ModifyTableOps(top.table_name, [], schema=top.schema)
            kept.append(copy_of[id(top)])
        copy_of[id(top)].ops.append(leaf)
    if not kept:
        return {"upgrade": "", "downgrade": "", "imports": []}
    upgrade_ops = alembic_ops.UpgradeOps(ops=kept)
    imports = set(_LAST["imports"])
    return {
        "upgrade": "def upgrade() -> None:\n    " + _render(upgrade_ops, ctx, imports),
        "downgrade": "def downgrade() -> None:\n    " + _render(upgrade_ops.reverse(), ctx, imports),
        "imports": sorted(imports),
    }


def cmd_render_indexes(args):
    """`op.create_index(...)` for indexes of the last comparison's models, as autogenerate writes them, built
    CONCURRENTLY: {"ix_name": code}. An index the models do not name that way is left out."""
    from alembic.operations import ops as alembic_ops

    context = _MODELS.get("context")
    metadatas = (_MODELS.get("configure") or {}).get("target_metadata")
    if context is None or metadatas is None:
        return {"code": {}}
    if not isinstance(metadatas, (list, tuple)):
        metadatas = [metadatas]
    wanted = {(item.get("schema"), item["table"], item["name"]) for item in args.get("indexes") or []}
    default_schema = getattr(context.dialect, "default_schema_name", None) or "public"
    code = {}
    for metadata in metadatas:
        for table in metadata.tables.values():
            schema = None if table.schema in (None, default_schema) else table.schema
            for index in table.indexes:
                if (schema, table.name, index.name) not in wanted:
                    continue
                try:
                    op = alembic_ops.CreateIndexOp.from_index(index)
                    op.kw = dict(op.kw, postgresql_concurrently=True)
                    rendered = _render(alembic_ops.UpgradeOps(ops=[op]), context, set())
                except Exception:
                    continue
                lines = [line.strip() for line in rendered.splitlines() if line.strip() and not line.strip().startswith("#")]
                code[index.name] = "\n".join(lines)
    return {"code": code}