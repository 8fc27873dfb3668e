"""The base commit's copy of the project: imports resolve to it, never to the working tree it was copied from."""

import os
import sys

from .paths import inside, installed, real


def point_imports_at(working_tree, copy):
    """Rewrites sys.path entries inside the working tree (an editable install's .pth, PYTHONPATH) to the copy.

    An entry whose copy does not exist (an untracked .venv inside the repository) is left alone: it holds installed
    packages, not the project's code.
    """
    for index, entry in enumerate(sys.path):
        if not entry or not inside(entry, working_tree):
            continue
        moved = os.path.join(copy, os.path.relpath(real(entry), real(working_tree)))
        if os.path.isdir(moved):
            sys.path[index] = moved


def modules_from(working_tree):
    """Project modules this process imported from the working tree instead of the copy (an editable install's finder)."""
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or not inside(path, working_tree) or installed(path, working_tree):
            continue
        found.append("%s (%s)" % (name, os.path.relpath(real(path), real(working_tree))))
    return sorted(found)


def cmd_modules_from(args):
    return {"modules": modules_from(args["workingTree"])}
