"""alembic-guard's Python side, one module per stage: scan, load, replay, compare; protocol runs the request loop."""
