"""The request loop: one JSON request per line on stdin, one response per line on the original stdout.

Everything the project's code prints goes to stderr.
"""

import io
import json
import os
import sys

from .base_tree import cmd_modules_from
from .compare import cmd_compare, cmd_render, cmd_render_indexes
from .errors import HelperError, error_from_exception
from .load import cmd_hello, cmd_load
from .replay import cmd_replay
from .scan import cmd_scan_sources

PROTOCOL_VERSION = 2

COMMANDS = {
    "hello": cmd_hello,
    "scan": cmd_scan_sources,
    "load": cmd_load,
    "replay": cmd_replay,
    "compare": cmd_compare,
    "render": cmd_render,
    "render-indexes": cmd_render_indexes,
    "modules-from": cmd_modules_from,
}


def _exit_with_parent():
    """A daemon thread: when the process that started this one is gone (killed outright, so it could not stop us),
    exit at once, even while the project's code runs (a migration or env.py in a loop never reads stdin again)."""
    import threading
    import time

    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, name="alembic-guard-parent-watch", daemon=True).start()


def main():
    _exit_with_parent()
    # The protocol keeps the real stdout; anything the project prints (even from C code) goes to stderr.
    protocol = io.open(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = sys.dont_write_bytecode or bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))

    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        request = json.loads(raw)
        handler = COMMANDS.get(request.get("cmd"))
        try:
            if handler is None:
                raise HelperError("protocol", "unknown command %r" % request.get("cmd"))
            response = {"id": request.get("id"), "ok": True, "result": handler(request.get("args") or {})}
        except HelperError as exc:
            response = {"id": request.get("id"), "ok": False, "error": exc.as_json()}
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a bug here, or project code raising where nothing else caught it
            response = {
                "id": request.get("id"),
                "ok": False,
                "error": error_from_exception("internal", exc, "alembic-guard's Python helper failed").as_json(),
            }
        protocol.write(json.dumps(response, default=str) + "\n")
        protocol.flush()
        if request.get("cmd") == "exit":
            break
