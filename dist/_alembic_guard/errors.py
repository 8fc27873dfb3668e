"""Errors the TypeScript side turns into messages, and where in the project an exception came from."""

import os
import traceback

from .project import PROJECT


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


def frame_in_project(tb):
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


def error_from_exception(kind, exc, prefix):
    where = None
    if isinstance(exc, SyntaxError) and exc.filename:
        where = (os.path.abspath(exc.filename), exc.lineno)
    if where is None:
        where = frame_in_project(exc.__traceback__)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    tb_text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return HelperError(
        kind,
        "%s: %s" % (prefix, text),
        file=where[0] if where else None,
        line=where[1] if where else None,
        detail=tb_text,
    )

