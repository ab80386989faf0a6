"""The one-writer lock: one process at a time writes a data dir's index (the worker, or
`pesquisa reindex`)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pesquisa.errors import FixInput, RetryLater


@contextmanager
def writer_lock(data_dir: Path) -> Iterator[None]:
    """Hold `DATA_DIR/worker.lock`, or RetryLater E606 when another process holds it
    (FixInput E701 when the data dir cannot hold it).

    An advisory flock: the kernel drops it when the process dies, so a killed worker never
    leaves the data dir locked."""
    path = data_dir / "worker.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
    except OSError as exc:  # a data dir that is a file, or read-only
        raise FixInput("E701", path=path, reason=exc.strerror or str(exc)) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RetryLater("E606", path=path.parent) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
