"""Drain the store's queue: annotate fetched documents, then index annotated ones.

Both steps are idempotent. Annotation replaces a document's mentions and marks it in one
transaction; indexing upserts by document id, then marks. A process killed at any point
leaves each document either done or still queued, never half-done or duplicated.

An index that is new (or was upgraded to a new format, or lost documents) while the store
already holds indexed documents gets them back: they go back to the index queue (not to NLP)
when the worker starts, and the drain indexes them.

An index that cannot be reached (Elasticsearch down) stops only the indexing: the drain goes on
annotating, leaves the annotated documents queued for the index and then raises RetryLater. The
next drain opens the index again and repeats the check above, since the node may have come back
without its data. A document the index refuses for good (Elasticsearch: a 4xx item error) is
marked failed with the index's reason, as a document NLP cannot annotate is, and the rest of its
batch is indexed: one bad document never blocks the queue.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from spacy.language import Language
from spacy.tokens import Doc

from indexer import open_index
from indexer.base import IndexBackend
from nlp.annotate import SNIPPET_CHARS, mentions
from pesquisa.errors import RetryLater
from pesquisa.lock import writer_lock
from pesquisa.logs import log_traceback
from pesquisa.settings import Settings
from pesquisa.store import ANNOTATED, FAILED, FETCHED, INDEXED, Document, Mention, Store

log = logging.getLogger(__name__)


BATCH = 16  # texts per nlp.pipe batch: news articles are long, larger batches gain little


@dataclass
class Annotated:
    """What the store keeps of one annotated document."""

    mentions: list[Mention]
    crime_types: list[dict[str, Any]]
    case_numbers: list[dict[str, Any]]


def _annotated(doc: Doc) -> Annotated:
    """Mentions, crime-type occurrences (with their sentence) and case numbers of a Doc."""
    crimes = []
    sentences = doc.has_annotation("SENT_START")
    for found in _extension(doc, "crime_types"):
        span = doc.char_span(found["start"], found["end"], alignment_mode="expand")
        snippet = None
        if span is not None and sentences:
            snippet = " ".join(span.sent.text.split())[:SNIPPET_CHARS]
        crimes.append({**found, "snippet": snippet})
    return Annotated(mentions(doc), crimes, list(_extension(doc, "case_numbers")))


def _extension(doc: Doc, name: str) -> list[dict[str, Any]]:
    # a pipeline without the component (a test's blank one) has no such extension
    return list(getattr(doc._, name) or []) if Doc.has_extension(name) else []


@dataclass
class Progress:
    annotated: int = 0
    indexed: int = 0
    failed: int = 0


class Worker:
    """Owns the NLP pipeline (loaded once) and is the one writer to the index."""

    def __init__(
        self, settings: Settings, index: IndexBackend | None = None, nlp: Language | None = None
    ) -> None:
        self.settings = settings
        self._nlp = nlp
        self._owns_index = index is None
        self._opened = index
        self._index_checked = False  # whether the index was compared with the store yet
        self._reopen = False  # a drain failed: open the index again before the next one

    @property
    def index(self) -> IndexBackend:
        """The index, opened at first use: annotation needs none (RetryLater E504 while an
        Elasticsearch index cannot be reached)."""
        if self._opened is None:
            self._opened = open_index(self.settings)
        return self._opened

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            from nlp.pipeline import load_pipeline

            self._nlp = load_pipeline(self.settings.nlp_model, self.settings.kb)
        return self._nlp

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()

    def run_once(
        self,
        stop: threading.Event | None = None,
        on_batch: Callable[[Progress], None] | None = None,
    ) -> Progress:
        """Process until the queue is empty (or `stop` is set).

        One worker per data dir at a time (a lock file says which): two would do the same
        NLP twice, and the index has one writer.
        """
        with self._exclusive(), Store(self.settings.store_path) as store, self._checked():
            return self._drain(store, stop, on_batch)

    @contextmanager
    def _checked(self) -> Iterator[None]:
        """Run a drain; after a failure, the next drain opens the index again and compares it
        with the store again: the node may be back without documents, or without the alias
        (then opening it creates the index again, where a write would have let Elasticsearch
        make up an index of that name)."""
        if self._reopen and self._owns_index and self._opened is not None:
            self._opened.close()
            self._opened = None  # opened again at its first use
        self._reopen = False
        try:
            yield
        except BaseException:
            self._index_checked = False
            self._reopen = True
            raise

    def reprocess(
        self,
        stop: threading.Event | None = None,
        on_batch: Callable[[Progress], None] | None = None,
        on_start: Callable[[int], None] | None = None,
        requeue: bool = True,
    ) -> Progress:
        """Annotate and index every stored document again (after a knowledge-base or pattern
        change), without crawling: all go back to the queue in one statement, then the queue
        is drained. A run killed half-way leaves the rest queued: `process` (or this with
        `requeue=False`) finishes them. `on_start` hears how many documents are queued.
        """
        with self._exclusive(), Store(self.settings.store_path) as store, self._checked():
            self.nlp  # noqa: B018  (a missing model is an error before anything is queued)
            if requeue:
                total = store.requeue_all()
            else:
                counts = store.counts()
                total = counts.get(FETCHED, 0) + counts.get(ANNOTATED, 0)
            if on_start:
                on_start(total)
            return self._drain(store, stop, on_batch)

    def _exclusive(self) -> AbstractContextManager[None]:
        return writer_lock(self.settings.data_dir)

    def _refill_index(self, store: Store) -> None:
        """Queue for indexing again (not for NLP) the documents the store marks indexed that
        the index lacks: all of them when the index is empty (new, or emptied to move to a new
        format), else the missing ones, found by id. Counts alone cannot tell: the index may
        also hold documents the store no longer marks indexed (re-crawled and queued, set
        aside after a reprocess, sent by a reindex before the worker got to them), as many as
        it lacks. Checked once per worker, at its first drain, and again after a failure."""
        if self._index_checked:
            return
        marked = store.counts().get(INDEXED, 0)
        held = self.index.count() if marked else 0
        moved, why = 0, ""
        if marked and held == 0:
            why = "is new or in a new format" if self.index.needs_reindex else "is empty"
            moved = store.requeue_for_indexing()
        elif marked:
            why = "lacks some of them"
            moved = store.requeue_for_indexing(_missing(store.indexed_ids(), self.index.ids()))
        if moved:
            log.info("the %s index %s: %d indexed documents queued for indexing again "
                     "(no NLP)", self.index.name, why, moved)
        if self.index.needs_reindex:
            self.index.needs_reindex = False
        self._index_checked = True

    def _drain(
        self,
        store: Store,
        stop: threading.Event | None,
        on_batch: Callable[[Progress], None] | None,
    ) -> Progress:
        progress = Progress()
        stop = stop or threading.Event()
        size = self.settings.worker.batch_size
        unavailable: RetryLater | None = None  # the index, once it could not be reached
        while not stop.is_set():
            annotated = self._annotate(store, size, progress)
            indexed = 0
            if unavailable is None:
                try:
                    self._refill_index(store)
                    indexed = self._index(store, size, progress)
                except RetryLater as exc:  # annotate the rest; what is annotated waits
                    unavailable = exc
            if on_batch and (annotated or indexed):
                on_batch(progress)
            if not annotated and not indexed:
                break
        if unavailable is not None:
            raise unavailable
        return progress

    def _annotate(self, store: Store, size: int, progress: Progress) -> int:
        docs = store.pending(FETCHED, size)
        if not docs:
            return 0
        cut = min(self.settings.worker.max_text_chars, self.nlp.max_length - 1)
        texts = [doc.text[:cut] for doc in docs]
        try:
            results: list[Annotated | None] = [
                _annotated(parsed) for parsed in self.nlp.pipe(texts, batch_size=BATCH)
            ]
        except Exception:  # one document broke the batch: find it, set it aside, go on
            pairs = zip(docs, texts, strict=True)
            results = [self._annotate_one(store, doc, text) for doc, text in pairs]
        for doc, result in zip(docs, results, strict=True):
            if result is None:
                progress.failed += 1
                continue
            store.save_annotations(doc, result.mentions, result.crime_types,
                                   result.case_numbers)
            progress.annotated += 1
        return len(docs)

    def _annotate_one(self, store: Store, doc: Document, text: str) -> Annotated | None:
        try:
            return _annotated(self.nlp(text))
        except Exception as exc:
            reason = f"annotation failed: {type(exc).__name__}: {exc}"[:500]
            log.warning("document %s (%s) set aside: %s", doc.id[:12], doc.url, reason)
            log_traceback(log, f"annotation failure in {doc.id}")
            store.mark([doc.id], FAILED, reason)
            return None

    def _index(self, store: Store, size: int, progress: Progress) -> int:
        docs = store.pending(ANNOTATED, size)
        if not docs:
            return 0
        refused = self.index.upsert(store.index_documents(docs))
        for doc in docs:  # refused for good: set aside, as annotation failures are
            if doc.id in refused:
                reason = f"index refused it: {refused[doc.id]}"[:500]
                log.warning("document %s (%s) set aside: %s", doc.id[:12], doc.url, reason)
                store.mark([doc.id], FAILED, reason)
        store.mark_indexed([doc for doc in docs if doc.id not in refused])
        progress.indexed += len(docs) - len(refused)
        progress.failed += len(refused)
        return len(docs)


def _key(doc_id: str) -> int:
    """64 bits of a document id: what the index check compares (8 bytes an id, not ~120)."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big")


def _keys(ids: Iterable[str]) -> npt.NDArray[np.uint64]:
    return np.fromiter((_key(doc_id) for doc_id in ids), dtype=np.uint64)


def _missing(wanted: Iterable[str], held: Iterable[str], chunk: int = 50_000) -> list[str]:
    """The ids of `wanted` not in `held`, in a memory of 8 bytes per held id (an archive of
    millions of documents). Two ids sharing their 64 bits (odds of about 1 in 10^7 with two
    million documents) would let one missing document go unnoticed."""
    present = np.unique(_keys(held))
    missing: list[str] = []
    ids = iter(wanted)
    while batch := list(itertools.islice(ids, chunk)):
        keys = _keys(batch)
        at = np.minimum(np.searchsorted(present, keys), max(len(present) - 1, 0))
        found = present[at] == keys if len(present) else np.zeros(len(keys), dtype=bool)
        missing.extend(doc_id for doc_id, hit in zip(batch, found.tolist(), strict=True)
                       if not hit)
    return missing
