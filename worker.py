"""RQ worker entry point: ``python worker.py [--queues sync,writeback] [--burst] [--with-scheduler]``.

The same command as ``baton worker``; see ``docs/workers.md``.
"""
from __future__ import annotations

from app.commands.worker import worker

if __name__ == "__main__":
    worker()
