"""Reading migration sources with `ast`: revision ids, op.* calls and their lines, ignore comments. No project code runs here."""

import ast
import io

from .app_imports import find_app_imports
from .fingerprint import _call_name, compare_sources


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
    """Each file's ids and ops; with `base` (its text at the base commit), what its code changed since; with
    `appImportsWithin` (the repository root), its imports of the project's own modules."""
    out = []
    for item in args["files"]:
        try:
            info = scan_source(item["text"], item["path"])
            info["path"] = item["path"]
            info["syntaxError"] = None
        except SyntaxError as exc:
            info = {"path": item["path"], "revision": None, "syntaxError": "%s (line %s)" % (exc.msg, exc.lineno)}
        if item.get("base") is not None:
            info["edit"] = compare_sources(item["base"], item["text"], item["path"])
        if item.get("appImportsWithin") and info["syntaxError"] is None:
            info["appImports"] = find_app_imports(item["text"], item["path"], item["appImportsWithin"])
        out.append(info)
    return {"files": out}
