"""Errors the command line reports in one line, without a traceback (cli.main)."""
from __future__ import annotations


class ConcurrentWriteError(RuntimeError):
    """Another process kept changing the tables a write needed, for every attempt; nothing of it was committed."""
