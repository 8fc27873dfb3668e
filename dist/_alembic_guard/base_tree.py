"""The base commit's copy of the project: imports resolve to it, never to the working tree it was copied from."""

import os
import sys


def _under(path, root):
    path = os.path.abspath(path)
    return path == root or path.startswith(root + os.sep)


def point_imports_at(working_tree, copy):
    """Rewrites sys.path entries inside the working tree (an editable install's .pth, PYTHONPATH) to the copy.

    An entry whose copy does not exist (an untracked .venv inside the repository) is left alone: it holds installed
    packages, not the project's code.
    """
    working_tree = os.path.abspath(working_tree)
    for index, entry in enumerate(sys.path):
        if not entry or not _under(entry, working_tree):
            continue
        moved = os.path.join(copy, os.path.relpath(os.path.abspath(entry), working_tree))
        if os.path.isdir(moved):
            sys.path[index] = moved


def modules_from(working_tree):
    """Project modules this process imported from the working tree instead of the copy (an editable install's finder)."""
    working_tree = os.path.abspath(working_tree)
    installed = [os.path.abspath(p) for p in sys.path if p and "-packages" in p]
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or not _under(path, working_tree):
            continue
        if any(_under(path, site) for site in installed):
            continue
        found.append("%s (%s)" % (name, os.path.relpath(os.path.abspath(path), working_tree)))
    return sorted(found)


def cmd_modules_from(args):
    return {"modules": modules_from(args["workingTree"])}
