"""Where a file is (inside a folder, or among installed packages rather than the project's own code), and its text as Python reads it."""

import os
import sys

_INSTALLED = ("site-packages", "dist-packages")


def real(path):
    return os.path.normcase(os.path.realpath(path))


def inside(path, folder):
    path, folder = real(path), real(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def installed(path, root):
    """In site-packages, or in the interpreter's own tree (a virtualenv inside the repository included)."""
    if any(part in _INSTALLED for part in real(path).split(os.sep)):
        return True
    prefixes = {sys.prefix, sys.exec_prefix, getattr(sys, "base_prefix", sys.prefix), getattr(sys, "base_exec_prefix", sys.prefix)}
    # A prefix holding the repository (a Docker image's /usr with the code in /usr/src/app) says nothing.
    return any(inside(path, prefix) for prefix in prefixes if prefix and not inside(root, prefix))


def read_source(path):
    """A Python file's text as Python reads it: its BOM or PEP 263 coding line, else UTF-8. One Python cannot decode
    is a HelperError naming the file (Python itself would refuse to import it)."""
    import tokenize

    from .errors import HelperError

    try:
        with tokenize.open(path) as fh:
            return fh.read()
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise HelperError(
            "load",
            "%s cannot be read as Python source (%s): save it as UTF-8, or declare its encoding on its first or "
            "second line (`# -*- coding: latin-1 -*-`)" % (path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__),
            file=os.path.abspath(path),
        )
