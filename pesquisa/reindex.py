"""`pesquisa reindex`: build a new index from the store and switch searches to it at once.

The store is the system of record: every document it has annotated goes into a fresh index
of the chosen backend (SQLite: new tables beside the old ones, switched in one transaction;
Elasticsearch: a new versioned index, then an atomic alias swap), while searches keep using
the old one. The worker lock is held throughout, so the index has one writer; crawls may go
on (what they add is queued for the worker as usual).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from indexer import open_index
from indexer.base import IndexDocument
from pesquisa.errors import NotFound, RetryLater
from pesquisa.lock import writer_lock
from pesquisa.settings import Settings
from pesquisa.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reindexed:
    backend: str
    sent: int  # documents streamed from the store
    indexed: int  # documents the new index holds


def reindex(
    settings: Settings,
    backend: str | None = None,
    batch_size: int = 500,
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> Reindexed:
    """Rebuild the `backend` index (default: the one the settings use) from the store.

    `on_start` hears how many documents will be sent, `on_batch` how many were sent so far.
    Raises E604 without a store, E606 while a worker runs, what the backend raises (E504,
    E507, E508) on failure, and E509 if the new index does not hold what was sent.
    """
    chosen = backend or settings.index_backend
    if not settings.store_path.exists():
        raise NotFound("E604", path=settings.store_path)
    with writer_lock(settings.data_dir), Store(settings.store_path) as store:
        total = store.count_indexable()
        index = open_index(settings, backend=chosen)
        try:
            if on_start:
                on_start(total)
            sent = 0

            def batches() -> Iterator[Sequence[IndexDocument]]:
                nonlocal sent
                for batch in store.iter_index_batches(batch_size):
                    yield batch
                    sent += len(batch)
                    if on_batch:
                        on_batch(sent)

            index.rebuild(batches())
            held = index.count()
        finally:
            index.close()
    log.info("reindexed %d documents into a new %s index", sent, chosen)
    if held != sent:
        raise RetryLater("E509", backend=chosen, held=held, sent=sent)
    return Reindexed(chosen, sent, held)
