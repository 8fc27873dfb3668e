"""alembic-guard's Python side: loads the project's Alembic setup, replays migrations and runs autogenerate.

The stages live in the `_alembic_guard` package beside this file (scan, load, replay, compare, protocol). Speaks
newline-delimited JSON on the file descriptor that was stdout when the helper started. Imports only the standard
library, SQLAlchemy and Alembic.
"""

import os
import sys

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    from _alembic_guard.protocol import main

    main()
