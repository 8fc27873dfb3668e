"""What a migration does, apart from how it is written, and what changed between two versions of one.

Two texts of a migration do the same thing when their code is the same once docstrings, comments, formatting, type
annotations, no-op statements (`pass`, bare strings) and imports that nothing uses or that only serve annotations
(`typing`, `__future__`, `collections.abc`) are left out. Everything is read with `ast`: no project code runs here.
"""

import ast
import difflib
import textwrap

# Imports that only serve annotations: adding, removing or reordering them changes nothing a migration does.
_ANNOTATION_MODULES = ("typing", "typing_extensions", "__future__", "collections.abc")

# Positional parameters of Alembic's operations (`op.<name>`); a batch_op's omit the table. The rest are keywords.
_OP_PARAMS = {
    "add_column": ("table_name", "column"),
    "drop_column": ("table_name", "column_name"),
    "alter_column": ("table_name", "column_name"),
    "create_table": ("table_name",),
    "drop_table": ("table_name",),
    "rename_table": ("old_table_name", "new_table_name"),
    "create_index": ("index_name", "table_name", "columns"),
    "drop_index": ("index_name", "table_name"),
    "create_foreign_key": ("constraint_name", "source_table", "referent_table", "local_cols", "remote_cols"),
    "create_unique_constraint": ("constraint_name", "table_name", "columns"),
    "create_primary_key": ("constraint_name", "table_name", "columns"),
    "create_check_constraint": ("constraint_name", "table_name", "condition"),
    "create_exclude_constraint": ("constraint_name", "table_name"),
    "drop_constraint": ("constraint_name", "table_name", "type_"),
    "create_table_comment": ("table_name", "comment"),
    "drop_table_comment": ("table_name",),
    "execute": ("sqltext",),
    "bulk_insert": ("table", "rows"),
    "batch_alter_table": ("table_name",),
}
_TABLE_PARAMS = ("table_name", "source_table")
# Operations taking any number of columns and constraints after their fixed parameters.
_VARIADIC = ("create_table",)
# How a parameter reads in a sentence ("changed its columns").
_PARAM_WORDS = {
    "table_name": "table",
    "source_table": "table",
    "referent_table": "referenced table",
    "old_table_name": "table",
    "new_table_name": "new name",
    "column_name": "column name",
    "index_name": "name",
    "constraint_name": "name",
    "local_cols": "columns",
    "remote_cols": "referenced columns",
    "sqltext": "SQL",
    "type_": "type",
    "column": "column",
}
# sa.Column(name, type, ...): what its first two positional arguments are.
_COLUMN_PARAMS = ("name", "type")
_COLUMN_CALLS = ("Column", "mapped_column")


def _call_name(func):
    """`op.add_column` -> ("op", "add_column"); `op.get_context().autocommit_block` -> ("op", "autocommit_block")."""
    if isinstance(func, ast.Attribute):
        base = func.value
        if isinstance(base, ast.Name):
            return base.id, func.attr
        if isinstance(base, ast.Call):
            inner = _call_name(base.func)
            if inner:
                return inner[0], func.attr
    return None


def _func_tail(func):
    """The last name of a called thing: `sa.Column` -> "Column"."""
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _batch_names(tree):
    """Names bound by `with op.batch_alter_table(...) as batch_op`."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                name = _call_name(item.context_expr.func) if isinstance(item.context_expr, ast.Call) else None
                if name == ("op", "batch_alter_table") and isinstance(item.optional_vars, ast.Name):
                    names.add(item.optional_vars.id)
    return names


def _annotation_module(module):
    return module in _ANNOTATION_MODULES or any(module.startswith(m + ".") for m in _ANNOTATION_MODULES)


def _is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_noise(stmt):
    """A statement that does nothing a migration could be judged on."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # docstrings, bare strings, `...`
    if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
        return True
    if isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and _annotation_module(stmt.module or ""):
        return True
    if isinstance(stmt, ast.Import) and all(_annotation_module(alias.name) for alias in stmt.names):
        return True
    if isinstance(stmt, ast.If) and _is_type_checking(stmt.test) and not stmt.orelse:
        return True
    return False


def _statements(body):
    return [stmt for stmt in body if not _is_noise(stmt)]


class _Operation:
    """An op.* (or batch_op.*) call with its arguments bound to Alembic's parameter names."""

    def __init__(self, call, receiver, name, batch):
        self.call = call
        self.receiver = receiver
        self.name = name
        params = _OP_PARAMS.get(name, ())
        if batch:
            params = tuple(p for p in params if p not in _TABLE_PARAMS)
        self.bound = {}
        self.extra = []
        for index, arg in enumerate(call.args):
            if index < len(params) and not isinstance(arg, ast.Starred):
                self.bound[params[index]] = arg
            else:
                self.extra.append(arg)
        for keyword in call.keywords:
            self.bound[keyword.arg if keyword.arg is not None else "**"] = keyword.value


class _Canon:
    """A canonical text of a node: what it does, without locations, annotations, docstrings or argument spelling."""

    def __init__(self, batch_names):
        self.batch_names = batch_names

    def operation(self, node):
        if not isinstance(node, ast.Call):
            return None
        name = _call_name(node.func)
        if not name:
            return None
        if name[0] == "op" or name[0] in self.batch_names:
            return _Operation(node, name[0], name[1], name[0] != "op")
        return None

    def __call__(self, node):
        if isinstance(node, list):
            items = [n for n in node if not (isinstance(n, ast.stmt) and _is_noise(n))]
            return "[" + ", ".join(self(n) for n in items) + "]"
        if not isinstance(node, ast.AST):
            return repr(node)
        if isinstance(node, ast.AnnAssign):
            return "Assign(%s, %s)" % (self([node.target]), self(node.value))
        if isinstance(node, ast.Assign):
            return "Assign(%s, %s)" % (self(node.targets), self(node.value))
        if isinstance(node, ast.arg):
            return "arg(%s)" % node.arg
        if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
            # An f-string with no placeholder is the plain string (ruff's F541 fix).
            return self(ast.Constant("".join(str(v.value) for v in node.values)))
        operation = self.operation(node)
        if operation is not None:
            # Positional and keyword spellings of the same argument, and keyword order, are the same call.
            bound = ", ".join("%s=%s" % (key, self(value)) for key, value in sorted(operation.bound.items()))
            return "Op(%s, %s, %s, [%s], %s)" % (
                operation.receiver,
                operation.name,
                self(operation.call.func.value) if isinstance(operation.call.func, ast.Attribute) else "",
                bound,
                self(operation.extra),
            )
        fields = []
        for field in node._fields:
            if field in ("ctx", "type_comment", "returns", "kind", "annotation"):
                continue
            fields.append("%s=%s" % (field, self(getattr(node, field, None))))
        return "%s(%s)" % (type(node).__name__, ", ".join(fields))


def _used_names(node, found=None):
    """The names the code reads or sets, annotations left out."""
    found = set() if found is None else found
    if isinstance(node, ast.Name):
        found.add(node.id)
    for field, value in ast.iter_fields(node):
        if field in ("annotation", "returns"):
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                _used_names(child, found)
    return found


class _Module:
    """A migration's code as comparable parts: the imports its code uses, each top-level function and class, the rest."""

    def __init__(self, text, path):
        self.tree = ast.parse(text, filename=path)
        for node in ast.walk(self.tree):
            node._guard_source = text
        self.canon = _Canon(_batch_names(self.tree))
        used = _used_names(self.tree)
        self.imports = {}  # (module, level, name, asname) -> statement
        self.definitions = {}  # name -> FunctionDef / ClassDef
        self.others = []
        for stmt in _statements(self.tree.body):
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    if alias.name != "*" and bound not in used:
                        continue  # an import nothing uses
                    module = stmt.module if isinstance(stmt, ast.ImportFrom) else None
                    level = stmt.level if isinstance(stmt, ast.ImportFrom) else 0
                    if isinstance(stmt, ast.ImportFrom) and level == 0 and _annotation_module(module or ""):
                        continue
                    self.imports[(module, level, alias.name, alias.asname)] = stmt
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.definitions[stmt.name] = stmt
            else:
                self.others.append(stmt)
        self.last_line = text.count("\n") + 1

    def fingerprint(self):
        return "\n".join(
            [repr(sorted(self.imports, key=repr))]
            + ["%s: %s" % (name, self.canon(node)) for name, node in sorted(self.definitions.items())]
            + [self.canon(self.others)]
        )


# ---------------------------------------------------------------------------------------------------------------
# Saying what changed.


def _unparse(node, limit=60):
    """The node as the file spells it, on one line; None when that is longer than `limit`."""
    text = _as_written(node)
    if text is None:
        try:
            text = ast.unparse(node)
        except Exception:  # Python before 3.9 has no ast.unparse
            return None
        text = " ".join(text.split())
    return text if len(text) <= limit else None


def _as_written(node):
    """The node's source with its lines joined back into one (black's exploded calls too); None with a comment inside."""
    source = getattr(node, "_guard_source", None)
    if source is None:
        return None
    try:
        segment = ast.get_source_segment(source, node)
    except Exception:
        return None
    if not segment or "#" in segment or "\\\n" in segment:
        return None
    lines = [line.strip() for line in segment.split("\n")]
    text = lines[0]
    for line in lines[1:]:
        if not line:
            continue
        if text.endswith(("(", "[", "{")):
            text += line
        elif line.startswith((")", "]", "}")):
            text = text.rstrip(",") + line
        else:
            text += " " + line
    return text


def _short(node):
    """An argument as a reader recognizes it: literals as written, `sa.Column("phone", ...)`, else `...`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value if len(node.value) <= 40 else node.value[:37].rstrip() + "..."
        return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    if isinstance(node, ast.Constant):
        return repr(node.value)
    if isinstance(node, ast.Call):
        head = _unparse(node.func)
        if head:
            first = node.args[0] if node.args else None
            inner = _short(first) if isinstance(first, ast.Constant) else ""
            more = len(node.args) + len(node.keywords) > (1 if inner else 0)
            return "%s(%s)" % (head, ", ".join([x for x in (inner, "..." if more else "") if x]))
    if isinstance(node, (ast.List, ast.Tuple)):
        text = _unparse(node, 40)
        if text:
            return text
    return "..."


def _label(operation):
    """`op.add_column("users", sa.Column("phone", ...))`: the call as written when short, else its leading arguments."""
    whole = _unparse(operation.call, 70)
    if whole:
        return whole
    func = _unparse(operation.call.func) or "%s.%s" % (operation.receiver, operation.name)
    args = [_short(arg) for arg in operation.call.args[:2]]
    if len(operation.call.args) + len(operation.call.keywords) > len(args):
        args.append("...")
    while len(args) > 1 and args[-1] == "..." and args[-2] == "...":
        args.pop()
    return "%s(%s)" % (func, ", ".join(args))


# op.* helpers that are not operations: a name (`op.f("ix_...")`), the connection, the autocommit block.
_NOT_OPERATIONS = ("f", "get_bind", "get_context", "inline_literal", "autocommit_block")


def _operations(canon, stmt):
    """The op.* calls a statement makes, in source order."""
    found = []
    for node in ast.walk(stmt):
        operation = canon.operation(node)
        if operation is not None and operation.name not in _NOT_OPERATIONS:
            found.append(operation)
    found.sort(key=lambda o: (o.call.lineno, o.call.col_offset))
    return found


def _key(operation):
    """What an op.* call is about, to pair it with its other version: its name and leading literal arguments."""
    params = _OP_PARAMS.get(operation.name, ())
    ordered = [operation.bound[p] for p in params if p in operation.bound] or list(operation.bound.values())
    literals = [repr(value.value) for value in ordered[:2] if isinstance(value, ast.Constant)]
    return (operation.receiver, operation.name, tuple(literals))


def _changed_parts(canon, before, after):
    """Which arguments of two versions of one op.* call differ: [(words, before node, after node)]."""
    parts = []
    params = _OP_PARAMS.get(after.name, ())
    order = lambda p: (params.index(p) if p in params else len(params), p)
    for param in sorted(set(before.bound) | set(after.bound), key=order):
        old, new = before.bound.get(param), after.bound.get(param)
        if old is not None and new is not None and canon(old) == canon(new):
            continue
        words = _PARAM_WORDS.get(param, param)
        if old is not None and new is not None:
            parts.extend(_inside(canon, words, old, new))
        else:
            parts.append((words, old, new))
    if canon(before.extra) != canon(after.extra):
        parts.extend(_variadic_parts(canon, before, after))
    return parts


def _inside(canon, words, old, new):
    """A changed sa.Column(...) argument: which of its parts changed ("column's type")."""
    if (
        isinstance(old, ast.Call)
        and isinstance(new, ast.Call)
        and _func_tail(old.func) in _COLUMN_CALLS
        and _func_tail(new.func) in _COLUMN_CALLS
    ):
        inner = []
        for index in range(max(len(old.args), len(new.args))):
            a = old.args[index] if index < len(old.args) else None
            b = new.args[index] if index < len(new.args) else None
            if a is not None and b is not None and canon(a) == canon(b):
                continue
            inner.append(("%s's %s" % (words, _COLUMN_PARAMS[index] if index < len(_COLUMN_PARAMS) else "arguments"), a, b))
        olds = {k.arg: k.value for k in old.keywords}
        news = {k.arg: k.value for k in new.keywords}
        for name in sorted(set(olds) | set(news), key=str):
            a, b = olds.get(name), news.get(name)
            if a is not None and b is not None and canon(a) == canon(b):
                continue
            inner.append(("%s's %s" % (words, name), a, b))
        if inner:
            return inner
    return [(words, old, new)]


def _column_name(node):
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        return node.args[0].value
    return None


def _variadic_key(canon, node):
    """A create_table argument by what it defines: ("Column", "email"), ("UniqueConstraint", "email"), else its code."""
    name = _column_name(node)
    if name is not None and isinstance(node, ast.Call):
        return (_func_tail(node.func), name)
    return (None, canon(node))


def _variadic_words(key):
    tail, name = key
    if tail in _COLUMN_CALLS:
        return 'column "%s"' % name
    return '%s "%s"' % (tail, name) if tail else "an argument"


def _variadic_parts(canon, before, after):
    """create_table's columns and constraints, paired by what they define."""
    if after.name not in _VARIADIC:
        return [("arguments", None, None)]
    olds, news = {}, {}
    for node in before.extra:
        olds.setdefault(_variadic_key(canon, node), node)
    for node in after.extra:
        news.setdefault(_variadic_key(canon, node), node)
    parts = []
    for key, node in news.items():
        if key not in olds:
            parts.append(("added %s" % _short(node), None, node))
        elif canon(olds[key]) != canon(node):
            parts.extend(_inside(canon, _variadic_words(key), olds[key], node))
    for key, node in olds.items():
        if key not in news:
            parts.append(("dropped %s" % _short(node), node, None))
    return parts or [("order of its columns", None, None)]


def _is_addition(words):
    return words.startswith(("added ", "dropped "))


def _subject(words):
    """`its type`, but `column "body"'s type` as is."""
    return words if ' "' in words or words.startswith("order ") else "its " + words


def _parts_phrase(parts):
    """`changed its columns (["a"] → ["a", "b"])`, `changed its type and nullable`, `added sa.Column("bio", ...)`."""
    added = [words for words, _, _ in parts if _is_addition(words)]
    changed = [(w, o, n) for w, o, n in parts if not _is_addition(w)]
    phrases = []
    if len(changed) == 1:
        words, old, new = changed[0]
        a = _unparse(old, 50) if old is not None else "nothing"
        b = _unparse(new, 50) if new is not None else "nothing"
        phrases.append("changed %s%s" % (_subject(words), " (%s → %s)" % (a, b) if a and b and (old is not None or new is not None) else ""))
    elif changed:
        names = []
        for words, _, _ in changed:
            if words not in names:
                names.append(words)
        if all(_subject(w).startswith("its ") for w in names):
            phrases.append("changed its %s" % _join(names))
        else:
            phrases.append("changed %s" % _join(_subject(w) for w in names))
    phrases.extend(added)
    return _join(phrases) if phrases else "changed"


def _join(items):
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _statement_text(stmt):
    """A statement as a code span: whole when short, else its first line (a loop's or a `with`'s header)."""
    compound = any(isinstance(getattr(stmt, field, None), list) for field in ("body", "orelse", "finalbody"))
    text = None if compound else _unparse(stmt, 70)
    if text is None:
        source = getattr(stmt, "_guard_source", None)
        first = source.split("\n")[stmt.lineno - 1].strip() if source else type(stmt).__name__.lower()
        text = first if len(first) <= 70 else first[:67].rstrip() + "..."
    return "`%s`" % text


class _Diff:
    """Collects what changed between two versions of a module, each with the line of head's statement it concerns."""

    def __init__(self, before, after):
        self.before = before
        self.after = after
        self.changes = []

    def add(self, scope, line, kind, what, operations=(), hint=None):
        self.changes.append(
            {
                "scope": scope,
                "line": line,
                "kind": kind,
                "what": what,
                "ops": [o.receiver + "." + o.name for o in operations],
                "hint": hint,
            }
        )

    # A statement present on one side only.
    def added(self, scope, stmt):
        operations = _operations(self.after.canon, stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            what = "defines %s()" % stmt.name
        elif operations:
            what = "now also calls " + _join(_label(o) for o in operations)
        else:
            what = "now also runs " + _statement_text(stmt)
        hint = _code(stmt) if operations and all(o.receiver == "op" for o in operations) else None
        self.add(scope, stmt.lineno, "added", what, operations, hint)

    def removed(self, scope, stmt, line):
        operations = _operations(self.before.canon, stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            what = "no longer defines %s()" % stmt.name
        elif operations:
            what = "no longer calls " + _join(_label(o) for o in operations)
        else:
            what = "no longer runs " + _statement_text(stmt)
        inverses = [_inverse(o) for o in operations if o.name != "batch_alter_table"]
        hint = "\n".join(inverses) if inverses and all(inverses) else None
        self.add(scope, line, "removed", what, operations, hint)

    # Two versions of one statement.
    def changed(self, scope, old, new):
        canon_old, canon_new = self.before.canon, self.after.canon
        compound = _header(canon_old, old)
        if compound is not None and type(old) is type(new) and compound == _header(canon_new, new):
            for field in ("body", "orelse", "finalbody", "handlers"):
                if hasattr(old, field):
                    self.block(scope, getattr(old, field), getattr(new, field), _end_line(new))
            return
        target = _assigned(new)
        if target and target == _assigned(old) and not _operations(canon_new, new) and not _operations(canon_old, old):
            a, b = _unparse(old.value, 50), _unparse(new.value, 50)
            self.add(scope, new.lineno, "changed", "%s changed%s" % (target, " (%s → %s)" % (a, b) if a and b else ""))
            return
        olds = _operations(canon_old, old)
        news = _operations(canon_new, new)
        if not olds and not news:
            self.add(scope, new.lineno, "changed", "changed " + _statement_text(new))
            return
        pending = list(olds)
        said = False
        for operation in news:
            match = next((o for o in pending if _key(o) == _key(operation)), None)
            if match is None:
                match = next((o for o in pending if o.name == operation.name and o.receiver == operation.receiver), None)
            if match is None:
                self.add(scope, operation.call.lineno, "added", "now also calls " + _label(operation), [operation])
                said = True
                continue
            pending.remove(match)
            if canon_old(match.call) != canon_new(operation.call):
                parts = _changed_parts(canon_new, match, operation)
                hint = _change_hint(match, operation, parts)
                # The changed argument's line (a column of a multi-line create_table), else the call's.
                lines = [n.lineno if isinstance(n, ast.expr) else operation.call.lineno for _, _, n in parts]
                line = min(lines) if lines else operation.call.lineno
                self.add(scope, line, "changed", "%s %s" % (_label(operation), _parts_phrase(parts)), [operation], hint)
                said = True
        for operation in pending:
            self.add(scope, new.lineno, "removed", "no longer calls " + _label(operation), [operation], _inverse(operation))
            said = True
        if not said:
            self.add(scope, new.lineno, "changed", "changed " + _statement_text(new), news)

    def block(self, scope, before, after, end_line):
        """Two statement lists: equal statements skipped, the rest paired by what they are about."""
        before, after = _statements(before), _statements(after)
        a = [self.before.canon(s) for s in before]
        b = [self.after.canon(s) for s in after]
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            old, new = list(before[i1:i2]), list(after[j1:j2])
            anchor = after[j2].lineno if j2 < len(after) else end_line
            pairs = []
            for stmt in list(new):
                partner = _partner(self.before.canon, old, self.after.canon, stmt)
                if partner is not None:
                    old.remove(partner)
                    pairs.append((partner, stmt))
            paired_new = {id(n) for _, n in pairs}
            leftover_new = [s for s in new if id(s) not in paired_new]
            while old and leftover_new and len(old) == len(leftover_new):
                pairs.append((old.pop(0), leftover_new.pop(0)))
            for stmt in new:
                pair = next((p for p in pairs if p[1] is stmt), None)
                if pair is not None:
                    self.changed(scope, pair[0], stmt)
                elif stmt in leftover_new:
                    self.added(scope, stmt)
            for stmt in old:
                self.removed(scope, stmt, anchor)


def _header(canon, node):
    """A compound statement without its bodies (what it is entered with), or None for a simple statement."""
    bodies = [f for f in ("body", "orelse", "finalbody", "handlers") if isinstance(getattr(node, f, None), list)]
    if not bodies or isinstance(node, ast.ClassDef):
        return None if not bodies else canon(node)
    parts = []
    for field in node._fields:
        if field in bodies or field in ("ctx", "type_comment", "returns", "kind", "annotation"):
            continue
        parts.append("%s=%s" % (field, canon(getattr(node, field, None))))
    if isinstance(node, ast.Try) or (hasattr(ast, "TryStar") and isinstance(node, ast.TryStar)):
        parts.append("handlers=%s" % "|".join(canon(h.type) + canon(h.name) for h in node.handlers))
    return "%s(%s)" % (type(node).__name__, ", ".join(parts))


def _end_line(node):
    return getattr(node, "end_lineno", None) or node.lineno


def _assigned(stmt):
    """The one name an assignment sets (`down_revision = ...`)."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return stmt.target.id
    return None


def _partner(canon_old, candidates, canon_new, stmt):
    """The statement of `candidates` that `stmt` is another version of: same target, same op.* call, same compound."""
    target = _assigned(stmt)
    if target:
        return next((c for c in candidates if _assigned(c) == target), None)
    news = _operations(canon_new, stmt)
    if news:
        key = _key(news[0])
        return next((c for c in candidates if any(_key(o) == key for o in _operations(canon_old, c)[:1])), None)
    header = _header(canon_new, stmt)
    if header is not None:
        return next((c for c in candidates if type(c) is type(stmt) and _header(canon_old, c) == header), None)
    return None


def _scope(name, node):
    if isinstance(node, ast.ClassDef):
        return "class %s" % name
    return "%s()" % name


def compare_sources(before_text, after_text, path="<source>"):
    """None when either text does not compile; else {"same": bool, "line": head's first changed line, "changes": [...]}."""
    try:
        before = _Module(before_text, path)
        after = _Module(after_text, path)
    except (SyntaxError, ValueError):
        return None
    if before.fingerprint() == after.fingerprint():
        return {"same": True, "line": None, "changes": []}
    diff = _Diff(before, after)

    # Module level: the revision identifiers and whatever else runs on import, in order.
    diff.block("module level", before.others, after.others, after.last_line)
    for key in sorted(set(after.imports) - set(before.imports), key=repr):
        stmt = after.imports[key]
        diff.add("module level", stmt.lineno, "added", "now imports " + _import_text(key))
    for key in sorted(set(before.imports) - set(after.imports), key=repr):
        first = min((s.lineno for s in after.imports.values()), default=1)
        diff.add("module level", first, "removed", "no longer imports " + _import_text(key))

    # Functions and classes by name: upgrade() and downgrade() first.
    names = sorted(set(before.definitions) | set(after.definitions), key=lambda n: (n not in ("upgrade", "downgrade"), n != "upgrade", n))
    for name in names:
        old, new = before.definitions.get(name), after.definitions.get(name)
        if new is None:
            diff.removed("module level", old, after.last_line)
            continue
        scope = _scope(name, new)
        if old is None:
            diff.add("module level", new.lineno, "added", "defines " + scope)
            continue
        if before.canon(old) == after.canon(new):
            continue
        if type(old) is not type(new) or _signature(before.canon, old) != _signature(after.canon, new):
            diff.add(scope, new.lineno, "changed", "changed its signature")
            if type(old) is not type(new):
                continue
        diff.block(scope, old.body, new.body, _end_line(new))

    changes = sorted(diff.changes, key=lambda c: c["line"])
    if not changes:  # the fingerprints differ in a way the walk above does not name (should not happen)
        changes = [{"scope": "module level", "line": 1, "kind": "changed", "what": "changed", "ops": []}]
    return {"same": False, "line": changes[0]["line"], "changes": changes}


def _signature(canon, node):
    if isinstance(node, ast.ClassDef):
        return canon(node.bases) + canon(node.keywords) + canon(node.decorator_list)
    return canon(node.args) + canon(node.decorator_list) + type(node).__name__


def _import_text(key):
    module, level, name, asname = key
    alias = name + (" as " + asname if asname else "")
    if module is None and level == 0:
        return "`import %s`" % alias
    return "`from %s%s import %s`" % ("." * level, module or "", alias)


# ---------------------------------------------------------------------------------------------------------------
# The code a new migration would hold to make the same change on databases that ran the old version.


def _code(node):
    """The node's source as a block (dedented), or None."""
    source = getattr(node, "_guard_source", None)
    try:
        segment = ast.get_source_segment(source, node, padded=True) if source else None
    except Exception:
        return None
    return textwrap.dedent(segment).strip() if segment else None


def _spelled(node):
    if node is None:
        return None
    text = _as_written(node)
    if text is None:
        try:
            text = ast.unparse(node)
        except Exception:
            return None
    return text


_CONSTRAINT_TYPES = {
    "create_unique_constraint": "unique",
    "create_foreign_key": "foreignkey",
    "create_check_constraint": "check",
    "create_primary_key": "primary",
}


def _table_of(operation):
    return operation.bound.get("table_name") or operation.bound.get("source_table")


def _inverse(operation):
    """What undoes an op.* call of the old upgrade(), for the ones with a plain inverse."""
    if operation.receiver != "op":
        return None
    table = _spelled(_table_of(operation))
    if operation.name == "add_column":
        column = operation.bound.get("column")
        if table and isinstance(column, ast.Call) and column.args:
            return "op.drop_column(%s, %s)" % (table, _spelled(column.args[0]))
    if operation.name == "create_index" and operation.bound.get("index_name") is not None:
        return "op.drop_index(%s%s)" % (_spelled(operation.bound["index_name"]), ", table_name=%s" % table if table else "")
    if operation.name == "create_table" and table:
        return "op.drop_table(%s)" % table
    if operation.name in _CONSTRAINT_TYPES and table and operation.bound.get("constraint_name") is not None:
        return 'op.drop_constraint(%s, %s, type_="%s")' % (_spelled(operation.bound["constraint_name"]), table, _CONSTRAINT_TYPES[operation.name])
    return None


def _change_hint(before, after, parts):
    """The operation that turns what the old call made into what the new one makes, when there is a plain one."""
    if after.receiver != "op":
        return None
    if after.name == "add_column":
        column = after.bound.get("column")
        if not all(words.startswith("column's ") for words, _, _ in parts):
            return None
        return _alter_for_column(after.bound.get("table_name"), column, [(words[len("column's "):], old, new) for words, old, new in parts])
    if after.name == "create_table":
        return _create_table_hint(after, parts)
    if after.name == "alter_column":
        return _code(after.call)
    if after.name == "create_index" or after.name in _CONSTRAINT_TYPES:
        renamed = any(words in ("name", "table") for words, _, _ in parts)
        drop = _inverse(before if renamed else after)  # spelled as the new version writes it when it names the same thing
        create = _code(after.call)
        return "%s\n%s" % (drop, create) if drop and create else None
    return None


def _create_table_hint(after, parts):
    """A changed op.create_table(...): its columns added, dropped or altered on the existing table."""
    table = after.bound.get("table_name")
    if table is None:
        return None
    lines = []
    for words, old, new in parts:
        if words.startswith("added ") and isinstance(new, ast.Call) and _func_tail(new.func) in _COLUMN_CALLS:
            lines.append("op.add_column(%s, %s)" % (_spelled(table), _code(new)))
        elif words.startswith("dropped ") and isinstance(old, ast.Call) and _func_tail(old.func) in _COLUMN_CALLS:
            lines.append("op.drop_column(%s, %s)" % (_spelled(table), _spelled(old.args[0])))
        elif words.startswith('column "') and "'s " in words:
            name = words[len('column "'):words.index('"\'s ')]
            column = next((n for n in after.extra if _column_name(n) == name and _func_tail(n.func) in _COLUMN_CALLS), None)
            alter = _alter_for_column(table, column, [(words.split("'s ", 1)[1], old, new)])
            if alter is None:
                return None
            lines.append(alter)
        else:
            return None
    return "\n".join(lines) if lines else None


def _alter_for_column(table, column, parts):
    """The op.alter_column(...) that makes a column what its new sa.Column(...) says: parts are (what, old, new)."""
    if table is None or not isinstance(column, ast.Call) or not column.args:
        return None
    args = [_spelled(table), _spelled(column.args[0])]
    has_type = False
    for what, old, new in parts:
        if what == "type" and new is not None:
            args.append("type_=%s" % _spelled(new))
            if old is not None:
                args.append("existing_type=%s" % _spelled(old))
            has_type = True
        elif what in ("nullable", "server_default", "comment"):
            args.append("%s=%s" % (what, _spelled(new) if new is not None else ("True" if what == "nullable" else "None")))
        else:
            return None
    if not has_type and len(column.args) > 1:
        args.append("existing_type=%s" % _spelled(column.args[1]))
    return "op.alter_column(%s)" % ", ".join(args)
