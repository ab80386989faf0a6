"""Drain the store's queue: annotate fetched documents, then index annotated ones.

Both steps are idempotent. Annotation replaces a document's mentions and marks it in one
transaction; indexing upserts by document id, then marks. A process killed at any point
leaves each document either done or still queued, never half-done or duplicated.

An index that is new (or was upgraded to a new format, or lost documents) while the store
already holds indexed documents gets them back: they go back to the index queue (not to NLP)
when the worker starts, and the drain indexes them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from indexer import open_index
from indexer.base import IndexBackend
from nlp.annotate import SNIPPET_CHARS, mentions
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
        self.index = index or open_index(settings)
        self._index_checked = False  # whether the index was compared with the store yet

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            from nlp.pipeline import load_pipeline

            self._nlp = load_pipeline(self.settings.nlp_model, self.settings.kb)
        return self._nlp

    def close(self) -> None:
        self.index.close()

    def run_once(
        self,
        stop: threading.Event | None = None,
        on_batch: Callable[[Progress], None] | None = None,
    ) -> Progress:
        """Process until the queue is empty (or `stop` is set).

        One worker per data dir at a time (a lock file says which): two would do the same
        NLP twice, and the index has one writer.
        """
        with self._exclusive(), Store(self.settings.store_path) as store:
            self._refill_index(store)
            return self._drain(store, stop, on_batch)

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
        with self._exclusive(), Store(self.settings.store_path) as store:
            self.nlp  # noqa: B018  (a missing model is an error before anything is queued)
            self._refill_index(store)
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
        the index lacks: all of them when the index says it is new or in a new format
        (`needs_reindex`) or is empty, else the missing ones. An index never legitimately
        holds fewer documents than the store marks indexed, so one holding as many needs
        nothing, whatever its flag says (another worker may have refilled it since this one
        opened it). Checked once per worker, at its first drain (again after a failure)."""
        if self._index_checked:
            return
        marked = store.counts().get(INDEXED, 0)
        held = self.index.count() if marked else 0
        moved, why = 0, ""
        if held >= marked:
            pass
        elif self.index.needs_reindex or held == 0:
            why = "is new or in a new format" if self.index.needs_reindex else "is empty"
            moved = store.requeue_for_indexing()
        else:
            missing = set(store.indexed_ids())
            missing.difference_update(self.index.ids())
            why = "lacks some of them"
            moved = store.requeue_for_indexing(sorted(missing))
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
        while not stop.is_set():
            annotated = self._annotate(store, size, progress)
            indexed = self._index(store, size, progress)
            if on_batch and (annotated or indexed):
                on_batch(progress)
            if not annotated and not indexed:
                break
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
        self.index.upsert(store.index_documents(docs))
        store.mark_indexed(docs)
        progress.indexed += len(docs)
        return len(docs)
