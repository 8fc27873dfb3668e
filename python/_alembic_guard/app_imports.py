"""Which imports of a migration reach the project's own code (its models, services, settings), found without importing.

A top-level module is the project's own when the import system would load it from a file inside the repository:
not the standard library, not an installed package (site-packages, the virtualenv), not Alembic or SQLAlchemy, and
not a helper living in the Alembic script directory (`from migrations.utils import x`, a sibling of versions/).
What an imported name is in the module that defines it (a mapped class and its table, an enum, a constant) is read
from that module's source with `ast`, to suggest what to write in the migration instead.
"""

import ast
import tokenize
import importlib.util
import os
import re
import sys

from .fingerprint import _is_type_checking
from .paths import inside, installed
from .project import PROJECT

_NEVER_OWN = ("alembic", "sqlalchemy", "sqlmodel")
# SQLAlchemy types that `sa.<Name>` spells the same in a migration; others are left out of the example (a
# `sa.column()` needs no type).
_PORTABLE_TYPES = {
    "String", "Text", "Unicode", "UnicodeText", "Integer", "BigInteger", "SmallInteger", "Boolean", "DateTime", "Date",
    "Time", "Float", "Numeric", "JSON", "LargeBinary", "Interval", "Uuid", "Double",
}
_PYTHON_TYPES = {
    "str": "sa.String", "int": "sa.Integer", "bool": "sa.Boolean", "float": "sa.Float", "datetime": "sa.DateTime",
    "date": "sa.Date", "time": "sa.Time", "Decimal": "sa.Numeric", "dict": "sa.JSON", "bytes": "sa.LargeBinary",
}
_COLUMN_CALLS = ("Column", "mapped_column")
# Longest enum or constant definition copied into a suggestion, in lines.
_COPY_LINES = 15


def _stdlib(name):
    names = getattr(sys, "stdlib_module_names", ())
    return name in names or name in sys.builtin_module_names


def _locations(top):
    """Where the import system finds a top-level module (its file, or its package's folders), without importing it."""
    module = sys.modules.get(top)
    try:
        spec = module.__spec__ if module is not None else importlib.util.find_spec(top)
    except (ImportError, ValueError, AttributeError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [str(p) for p in spec.submodule_search_locations]
    if spec.origin and os.path.isabs(spec.origin):
        return [spec.origin]
    return []


def _module_file(locations, parts):
    """The deepest existing file or folder of `top.part1.part2` below a top-level module's locations."""
    for location in locations:
        if not os.path.isdir(location):
            if not parts:
                return location
            continue
        path = location
        for part in parts:
            if os.path.isdir(os.path.join(path, part)):
                path = os.path.join(path, part)
            elif os.path.isfile(os.path.join(path, part + ".py")):
                return os.path.join(path, part + ".py")
            else:
                break
        return path
    return None


def _source_of(found):
    """The .py file holding a module: the file, or a package's __init__.py."""
    if found and os.path.isdir(found):
        found = os.path.join(found, "__init__.py")
    if found and found.endswith(".py") and os.path.isfile(found):
        return found
    return None


def _helper_folders(path, root):
    """The Alembic script directory, the version locations and the migration's own folder; not one holding the whole
    repository (`script_location = .`), which would make every module a helper."""
    folders = [os.path.dirname(os.path.abspath(path))] if os.path.isabs(path) else []
    script = PROJECT.script
    if script is not None:
        folders.append(script.dir)
        folders.extend(getattr(script, "_version_locations", None) or [])
    return [folder for folder in folders if not inside(root, folder)]


def own_module(name, root, migration_path):
    """The file or folder of the project's own module `name` (dotted), or None."""
    top = name.split(".")[0]
    if top in _NEVER_OWN or _stdlib(top):
        return None
    locations = [p for p in _locations(top) if inside(p, root) and not installed(p, root)]
    if not locations:
        return None
    found = _module_file(locations, name.split(".")[1:]) or locations[0]
    if any(inside(found, folder) or inside(locations[0], folder) for folder in _helper_folders(migration_path, root)):
        return None  # a helper of the migrations themselves
    return found


_TEMPLATE_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))", re.M)
_PREFIX = re.compile(r"user_module_prefix\s*=\s*[\"']([\w.]+?)\.?[\"']")


def _template_modules(root, migration_path):
    """Modules the project means every migration to import: those of script.py.mako, and env.py's user_module_prefix
    (autogenerate writes `prefix.Type` for the project's own column types), and the modules those re-export from (a
    `migration_types` module that is `from app.db.guid import GUID`)."""
    script = PROJECT.script
    if script is None:
        return set()
    found = set()
    for name, pattern in (("script.py.mako", _TEMPLATE_IMPORT), ("env.py", _PREFIX)):
        try:
            with open(os.path.join(script.dir, name), encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        for match in pattern.finditer(text):
            module = next((group for group in match.groups() if group), None)
            if module:
                found.add(module)
    for module in list(found):
        source = own_module(module, root, migration_path)
        if source and os.path.isfile(source):
            parsed = _parse_file(source)
            for node in ast.walk(parsed[1]) if parsed is not None else ():
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module)
    return found


def _guarded(tree):
    """Nodes inside `if TYPE_CHECKING:` (they never run)."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                for inner in ast.walk(stmt):
                    guarded.add(id(inner))
    return guarded


def _functions(tree):
    """id(node) -> the top-level function it is in."""
    where = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(stmt):
                where[id(inner)] = stmt.name
    return where


def find_app_imports(text, path, root):
    """One entry per import statement that reaches the project's own code: its line, modules and imported names."""
    tree = ast.parse(text, filename=path)
    guarded = _guarded(tree)
    functions = _functions(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in guarded:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                continue  # relative: the migrations' own package
            candidates = [(node.module, [alias for alias in node.names])]
        else:
            candidates = [(alias.name, [alias]) for alias in node.names]
        names = []
        template = _template_modules(root, path)
        for module, aliases in candidates:
            if module in template:
                continue  # what the project's script.py.mako writes into every migration (custom column types)
            # `from app.types import guid`: the submodule itself may be the template's.
            aliases = [alias for alias in aliases if "%s.%s" % (module, alias.name) not in template]
            if not aliases:
                continue
            file = own_module(module, root, path)
            if file is not None:
                names.extend(_describe(tree, node, module, alias, file) for alias in aliases)
        if names:
            modules = []
            for name in names:
                if name["module"] not in modules:
                    modules.append(name["module"])
            found.append(
                {
                    "line": node.lineno,
                    "endLine": getattr(node, "end_lineno", node.lineno),
                    "modules": modules,
                    "function": functions.get(id(node)),
                    "names": names,
                }
            )
    found.sort(key=lambda entry: entry["line"])
    return found


# ---------------------------------------------------------------------------------------------------------------
# What an imported name is, read from the source that defines it.


def _bound_name(node, alias):
    if alias.asname:
        return alias.asname
    return alias.name if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]


def _attributes_used(tree, bound, prefix=()):
    """Attributes read off `bound` in the migration: `User.status` -> {"status"}; with prefix (models,) `app.models.X`."""
    used = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain = []
        current = node
        while isinstance(current, ast.Attribute):
            chain.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or current.id != bound:
            continue
        chain.reverse()
        if tuple(chain[: len(prefix)]) != tuple(prefix) or len(chain) <= len(prefix):
            continue
        rest = chain[len(prefix):]
        if rest not in used:
            used.append(rest)
    return used


def _describe(tree, node, module, alias, file):
    """What the migration takes from the project: {"name", "module", "kind": table|enum|constant|class|function|object|module|unknown}."""
    bound = _bound_name(node, alias)
    if isinstance(node, ast.ImportFrom):
        if os.path.isdir(file):
            submodule = _module_file([file], [alias.name])
            if submodule and submodule != file:
                # `from app import models`: a module; what the migration reads off it.
                return _from_module(tree, bound, (), "%s.%s" % (module, alias.name), _source_of(submodule))
        source = _source_of(file)
        entry = (_definition(source, alias.name) if source else None) or {"kind": "unknown"}
        entry["name"] = alias.name
        entry["module"] = module
        if entry["kind"] == "table":
            _columns_used(entry, [chain[0] for chain in _attributes_used(tree, bound)])
        return entry
    # `import app.models` binds `app` and reads `app.models.X`; `import app.models as m` reads `m.X`.
    prefix = () if alias.asname else tuple(module.split(".")[1:])
    return _from_module(tree, bound, prefix, module, _source_of(file))


def _from_module(tree, bound, prefix, module, source):
    entry = {"name": module, "module": module, "kind": "module", "members": []}
    if not source:
        return entry
    for chain in _attributes_used(tree, bound, prefix):
        if any(m["name"] == chain[0] for m in entry["members"]):
            continue
        member = _definition(source, chain[0])
        if member is None:
            continue
        member["name"] = chain[0]
        member["module"] = module
        if member["kind"] == "table":
            _columns_used(member, [rest[0] for rest in _attributes_used(tree, bound, prefix + (chain[0],))])
        entry["members"].append(member)
    return entry


def _columns_used(entry, attributes):
    """Keeps the columns the migration reads off the class (all of them when it reads none by name)."""
    columns = entry.get("columns") or []
    used = [c for c in columns if c["attribute"] in attributes]
    entry["columnsUsed"] = bool(used)
    if used:
        entry["columns"] = used


_PARSED = {}


def _parse_file(path):
    if path not in _PARSED:
        try:
            with tokenize.open(path) as fh:  # its coding line honoured, as Python reads it
                text = fh.read()
            _PARSED[path] = (text, ast.parse(text, filename=path))
        except (OSError, SyntaxError, ValueError, LookupError):
            _PARSED[path] = None
    return _PARSED[path]


def _definition(source, name):
    """What `name` is at the top level of `source`: a mapped class, an enum, a constant, a function."""
    parsed = _parse_file(source)
    if parsed is None:
        return None
    text, tree = parsed
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            return _class_definition(text, stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
            return {"kind": "function"}
        targets = []
        if isinstance(stmt, ast.Assign):
            targets = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            targets = [stmt.target.id]
        if name in targets:
            if _literal(stmt.value):
                return {"kind": "constant", "source": _segment(text, stmt)}
            return {"kind": "object"}
    return None


def _literal(node):
    try:
        ast.literal_eval(node)
        return True
    except Exception:
        return False


def _segment(text, node):
    try:
        segment = ast.get_source_segment(text, node)
    except Exception:
        return None
    if segment and segment.count("\n") < _COPY_LINES:
        return segment
    return None


def _base_names(stmt):
    names = []
    for base in stmt.bases:
        if isinstance(base, ast.Attribute):
            names.append(base.attr)
        elif isinstance(base, ast.Name):
            names.append(base.id)
    return names


def _class_definition(text, stmt):
    bases = _base_names(stmt)
    if any(b.endswith("Enum") or b in ("IntFlag", "Flag") for b in bases):
        return {"kind": "enum", "source": _segment(text, stmt), "bases": bases}
    table = None
    columns = []
    for inner in stmt.body:
        target, value, annotation = None, None, None
        if isinstance(inner, ast.Assign) and len(inner.targets) == 1 and isinstance(inner.targets[0], ast.Name):
            target, value = inner.targets[0].id, inner.value
        elif isinstance(inner, ast.AnnAssign) and isinstance(inner.target, ast.Name):
            target, value, annotation = inner.target.id, inner.value, inner.annotation
        if target is None:
            continue
        if target == "__tablename__" and isinstance(value, ast.Constant) and isinstance(value.value, str):
            table = value.value
            continue
        column = _column(target, value, annotation)
        if column:
            columns.append(column)
    if table or columns:
        return {"kind": "table", "table": table, "columns": columns}
    return {"kind": "class"}


def _column(attribute, value, annotation):
    """A mapped column of a declarative class: its attribute, column name and a type a migration can spell."""
    call = value if isinstance(value, ast.Call) else None
    tail = call.func.attr if call is not None and isinstance(call.func, ast.Attribute) else (
        call.func.id if call is not None and isinstance(call.func, ast.Name) else None
    )
    mapped = _mapped_type(annotation)
    if tail not in _COLUMN_CALLS and not (value is None and mapped is not None):
        return None
    name = attribute
    type_text = None
    if call is not None:
        args = list(call.args)
        if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            name = args.pop(0).value
        if args:
            type_text = _portable_type(args[0])
    if type_text is None and mapped is not None:
        type_text = _PYTHON_TYPES.get(mapped)
    return {"attribute": attribute, "name": name, "type": type_text}


def _mapped_type(annotation):
    """`Mapped[str]`, `Mapped[Optional[int]]`, `Mapped[int | None]` -> "str" / "int"; None when not a Mapped[...]."""
    if not isinstance(annotation, ast.Subscript):
        return None
    head = annotation.value
    if not ((isinstance(head, ast.Name) and head.id == "Mapped") or (isinstance(head, ast.Attribute) and head.attr == "Mapped")):
        return None
    inner = annotation.slice
    if isinstance(inner, ast.Subscript) and isinstance(inner.value, (ast.Name, ast.Attribute)):
        if (inner.value.id if isinstance(inner.value, ast.Name) else inner.value.attr) == "Optional":
            inner = inner.slice
    if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.BitOr):
        inner = inner.left if not (isinstance(inner.left, ast.Constant) and inner.left.value is None) else inner.right
    if isinstance(inner, ast.Name):
        return inner.id
    if isinstance(inner, ast.Attribute):
        return inner.attr
    return ""


def _portable_type(node):
    """`String(20)`, `sa.String(20)`, `db.String(20)` -> "sa.String(20)"; other types -> None."""
    call = node if isinstance(node, ast.Call) else None
    func = call.func if call is not None else node
    name = func.attr if isinstance(func, ast.Attribute) else (func.id if isinstance(func, ast.Name) else None)
    if name not in _PORTABLE_TYPES:
        return None
    if call is None:
        return "sa." + name
    if not all(_literal(arg) for arg in call.args) or not all(_literal(k.value) for k in call.keywords):
        return "sa." + name
    try:
        args = [ast.unparse(arg) for arg in call.args] + ["%s=%s" % (k.arg, ast.unparse(k.value)) for k in call.keywords]
    except Exception:
        return "sa." + name
    return "sa.%s(%s)" % (name, ", ".join(args))
