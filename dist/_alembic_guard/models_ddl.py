"""The SQL `metadata.create_all()` would run for the models env.py compares, as text, without touching a database.

model-drift runs it in a second scratch database and diffs the two catalogs. Only what autogenerate itself would
compare goes in: env.py's `include_schemas`, `include_name` and `include_object` filter tables as they filter the
comparison, and what they filter out inside a kept table (a column, an index, a constraint) is listed as excluded.
"""


def _unwrapped(type_):
    """The type under TypeDecorators and ARRAY: what decides whether a column needs a named type."""
    from sqlalchemy.types import ARRAY, TypeDecorator

    seen = 0
    while seen < 10:
        seen += 1
        if isinstance(type_, TypeDecorator):
            type_ = type_.impl if not isinstance(type_.impl, type) else type_.impl()
        elif isinstance(type_, ARRAY):
            type_ = type_.item_type
        else:
            return type_
    return type_


def _call(hook, *args):
    """A user's filter; one that raises keeps the object (the comparison then says more, never less)."""
    try:
        return bool(hook(*args))
    except Exception:
        return True


def _dialect(context_dialect):
    """A plain PostgreSQL dialect of the server's version, with a paramstyle that leaves `%` alone in the SQL text."""
    from sqlalchemy.dialects.postgresql.base import PGDialect

    dialect = PGDialect(paramstyle="named")
    dialect.server_version_info = getattr(context_dialect, "server_version_info", None)
    # What initialize() learned from the server (e.g. whether generated columns may be VIRTUAL): the same DDL as the
    # project's own engine would emit there.
    for name, value in vars(context_dialect).items():
        if name.startswith(("supports_", "_supports_")) and isinstance(value, bool):
            setattr(dialect, name, value)
    return dialect


def models_ddl(configure_kw, context_dialect):
    """`{"statements": [...], "excluded": ["table.name", ...], "compareServerDefault": bool}` or None without metadata."""
    import sqlalchemy as sa

    metadatas = configure_kw.get("target_metadata")
    if metadatas is None:
        return None
    if not isinstance(metadatas, (list, tuple)):
        metadatas = [metadatas]
    include_object = configure_kw.get("include_object")
    include_name = configure_kw.get("include_name")
    include_schemas = bool(configure_kw.get("include_schemas"))
    default_schema = getattr(context_dialect, "default_schema_name", None) or "public"
    dialect = _dialect(context_dialect)

    def keep_table(table):
        if not include_schemas and table.schema not in (None, default_schema):
            return False
        if include_name is not None and not _call(include_name, table.name, "table", {"schema_name": table.schema}):
            return False
        return include_object is None or _call(include_object, table, table.name, "table", False, None)

    statements = []
    excluded = []
    created_types = set()

    def named_types_first(tables):
        """Named ENUM types the models use but leave to migrations (`create_type=False`): made here with the models'
        labels, so their tables can be created and their labels compared."""
        for table in tables:
            for column in table.columns:
                type_ = _unwrapped(column.type)
                if getattr(type_, "create_type", True) or not getattr(type_, "enums", None) or not getattr(type_, "name", None):
                    continue
                preparer = dialect.identifier_preparer
                name = preparer.format_type(type_)
                if name in created_types:
                    continue
                created_types.add(name)
                labels = ", ".join("'%s'" % label.replace("'", "''") for label in type_.enums)
                statements.append("CREATE TYPE %s AS ENUM (%s)" % (name, labels))

    def execute(element, *multiparams, **params):
        text = str(element.compile(dialect=dialect)).strip()
        if text:
            statements.append(text)

    mock = sa.create_mock_engine("postgresql://", execute)
    for metadata in metadatas:
        tables = [table for table in metadata.sorted_tables if keep_table(table)]
        if not tables:
            continue
        named_types_first(tables)
        metadata.create_all(mock, tables=tables, checkfirst=False)
        if include_object is None:
            continue
        for table in tables:
            for column in table.columns:
                if not _call(include_object, column, column.name, "column", False, None):
                    excluded.append("%s.%s" % (table.name, column.name))
            for index in table.indexes:
                if index.name and not _call(include_object, index, index.name, "index", False, None):
                    excluded.append("%s.%s" % (table.name, index.name))
            for constraint in table.constraints:
                type_ = {
                    "UniqueConstraint": "unique_constraint",
                    "ForeignKeyConstraint": "foreign_key_constraint",
                    "CheckConstraint": "check_constraint",
                }.get(type(constraint).__name__)
                name = constraint.name if isinstance(constraint.name, str) else None
                if type_ and name and not _call(include_object, constraint, name, type_, False, None):
                    excluded.append("%s.%s" % (table.name, name))
    return {
        "statements": statements,
        "excluded": excluded,
        "compareServerDefault": bool(configure_kw.get("compare_server_default")),
    }
