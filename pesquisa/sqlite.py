"""Open SQLite databases the one way Pesquisa uses them: WAL, a busy timeout, autocommit."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

BUSY_TIMEOUT_MS = 30_000


def is_busy(exc: sqlite3.Error) -> bool:
    """Another process holds the database: wait and retry, nothing is wrong with it."""
    return "locked" in str(exc) or "busy" in str(exc)


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable across threads.

    Switching a new file to WAL takes a lock that SQLite does not wait for, so processes that
    open the same new database together (a crawl and a worker) retry here for a while.
    """
    if read_only:
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"  # a '#' or '?' in a path is data
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if read_only:
        return db
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.05)
    db.execute("PRAGMA synchronous = NORMAL")
    return db
