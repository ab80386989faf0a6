"""The worker sets aside a document that breaks NLP, and goes on with the others."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import spacy
from elasticsearch import Elasticsearch
from spacy.language import Language
from spacy.tokens import Doc

from indexer.backends.sqlite import SqliteIndex
from pesquisa.errors import RetryLater
from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import Settings, load_settings
from pesquisa.store import ANNOTATED, FAILED, INDEXED, Mention, NewDocument, Store
from pesquisa.worker import Worker
from tests.es_node import Outage


@Language.component("test_poison")
def poison(doc: Doc) -> Doc:
    if "VENENO" in doc.text:
        raise ValueError("this text breaks the pipeline")
    return doc


def test_a_poison_document_does_not_block_the_queue(tmp_path: Path) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    texts = ["Primera nota sobre Lima.", "Texto con VENENO dentro.", "Tercera nota.",
             "Nota muy larga " + "palabra " * 200_000]
    with Store(settings.store_path) as store:
        for n, text in enumerate(texts):
            url = f"https://ejemplo.pe/{n}"
            store.save_document(NewDocument(url=url, canonical_url=canonical_url(url),
                                            id=document_id(url), source="x", title=f"t{n}",
                                            text=text))
    nlp = spacy.blank("es")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("test_poison")
    worker = Worker(settings, nlp=nlp)
    done = worker.run_once()
    assert (done.annotated, done.indexed, done.failed) == (3, 3, 1)
    again = worker.run_once()  # the failed one stays aside: nothing loops
    assert (again.annotated, again.indexed, again.failed) == (0, 0, 0)
    worker.close()
    with Store(settings.store_path) as store:
        assert store.counts() == {"indexed": 3, "failed": 1}
        failed = store.get(document_id("https://ejemplo.pe/1"))
        assert failed.error is not None and "breaks the pipeline" in failed.error
    index = SqliteIndex(settings.index_path)
    assert index.count() == 3
    assert index.search("palabra").total == 1  # the long text was cut, not dropped
    index.close()


def fill(settings: Settings, n: int) -> None:
    with Store(settings.store_path) as store:
        for i in range(n):
            url = f"https://ejemplo.pe/nota/{i}"
            store.save_document(NewDocument(url=url, canonical_url=canonical_url(url),
                                            id=document_id(url), source="x", title=f"Nota {i}",
                                            text=f"Texto de la nota número {i} sobre Lima."))


def blank() -> Language:
    nlp = spacy.blank("es")
    nlp.add_pipe("sentencizer")
    return nlp


def test_a_crash_between_indexing_and_marking_leaves_one_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    fill(settings, 10)

    def crash(self: Store, docs: object) -> None:
        raise KeyboardInterrupt  # as if killed right after the index write

    with monkeypatch.context() as patch:
        patch.setattr(Store, "mark_indexed", crash)
        worker = Worker(settings, nlp=blank())
        with pytest.raises(KeyboardInterrupt):
            worker.run_once()
        worker.close()
    with Store(settings.store_path) as store:
        assert store.counts() == {"annotated": 10}  # indexed, but not marked
    worker = Worker(settings, nlp=blank())
    assert worker.run_once().indexed == 10
    worker.close()
    index = SqliteIndex(settings.index_path)
    assert index.count() == 10
    (entries,) = index.db.execute("SELECT COUNT(*) FROM docs_fts_docsize").fetchone()
    assert entries == 10  # FTS rows, not only the content table
    assert index.search("nota").total == 10
    index.close()


def test_one_worker_per_data_dir(tmp_path: Path) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    fill(settings, 2)
    first, second = Worker(settings, nlp=blank()), Worker(settings, nlp=blank())
    busy: list[str] = []

    def try_second(progress: object) -> None:
        try:
            second.run_once()
        except RetryLater as exc:
            busy.append(exc.code)

    first.run_once(on_batch=try_second)
    assert busy == ["E606"]
    assert second.run_once().indexed == 0  # free again once the first is done
    first.close()
    second.close()


@Language.component("test_no_nlp")
def refuse(doc: Doc) -> Doc:
    raise AssertionError("NLP ran where only indexing was due")


def no_nlp() -> Language:
    """A pipeline that must not run: indexing again never annotates again."""
    nlp = spacy.blank("es")
    nlp.add_pipe("test_no_nlp")
    return nlp


def test_a_new_index_gets_the_indexed_documents_back_without_nlp(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    fill(settings, 6)
    worker = Worker(settings, nlp=blank())
    assert worker.run_once().indexed == 6
    worker.close()
    for leftover in tmp_path.glob("index.sqlite*"):  # the index is lost (or a new format)
        leftover.unlink()
    worker = Worker(settings, nlp=no_nlp())
    assert worker.index.needs_reindex  # created empty while the store has indexed documents
    with caplog.at_level(logging.INFO, logger="pesquisa.worker"):
        done = worker.run_once()
    assert (done.annotated, done.indexed, done.failed) == (0, 6, 0)
    assert [r.getMessage() for r in caplog.records if "queued for indexing" in r.getMessage()
            ] == ["the sqlite index is new or in a new format: 6 indexed documents queued for "
                  "indexing again (no NLP)"]
    assert not worker.index.needs_reindex
    assert worker.run_once().indexed == 0  # once: the next drain finds nothing to redo
    assert worker.index.count() == 6 and worker.index.search("nota").total == 6
    worker.close()


def test_an_index_missing_documents_gets_them_back(tmp_path: Path) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    fill(settings, 5)
    worker = Worker(settings, nlp=blank())
    worker.run_once()
    lost = sorted(worker.index.ids())[:2]
    worker.index.delete(lost)
    worker.close()
    worker = Worker(settings, nlp=no_nlp())
    assert not worker.index.needs_reindex
    assert worker.run_once().indexed == 2  # only the two it lacked
    assert sorted(worker.index.ids()) == sorted(document_id(f"https://ejemplo.pe/nota/{i}")
                                                for i in range(5))
    worker.close()


def test_the_index_gets_entities_aliases_and_crime_types(tmp_path: Path) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    text = "La presidenta Boluarte negó la extorsión; Dina Boluarte habló en Lima."
    url = "https://ejemplo.pe/boluarte"
    with Store(settings.store_path) as store:
        store.save_document(NewDocument(url=url, canonical_url=canonical_url(url),
                                        id=document_id(url), source="x", title="Nota",
                                        text=text, published="2026-05-04T10:00:00-05:00"))
        doc = store.get(document_id(url))

        def said(words: str) -> Mention:
            start = text.index(words)
            return Mention("official:dina-boluarte", "Dina Boluarte", "PER", "official", start,
                           start + len(words), words, text)

        store.save_annotations(doc, [said("Boluarte"), said("Dina Boluarte")],
                               [{"code": "extorsion", "article": "200",
                                 "start": text.index("extorsión")}])
    worker = Worker(settings, nlp=no_nlp())  # annotated already: the worker only indexes
    assert worker.run_once().indexed == 1
    for query in ('entity:"official:dina-boluarte"', "entity:boluarte",
                  'entity:"dina boluarte"', "kind:official", "crime:extorsion",
                  "published:2026-05"):
        assert [h.id for h in worker.index.search(query).hits] == [doc.id], query
    assert worker.index.search("kind:place OR crime:sicariato").total == 0
    facets = worker.index.search("*", facets=True).facets
    assert facets is not None
    assert [(b.value, b.label) for b in facets.entities["official"]] == [
        ("official:dina-boluarte", "Dina Boluarte")]
    worker.close()


def test_stale_documents_in_the_index_do_not_hide_missing_ones(tmp_path: Path) -> None:
    """The index may hold documents the store no longer marks indexed (set aside after a
    reprocess, re-crawled and queued, sent by a reindex before their worker got to them): as
    many of them as it lacks indexed ones must not make the counts look even."""
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    fill(settings, 6)
    worker = Worker(settings, nlp=blank())
    worker.run_once()
    stale, lost = sorted(worker.index.ids())[:2]
    worker.index.delete([lost])
    worker.close()
    with Store(settings.store_path) as store:
        store.mark([stale], FAILED, "annotation failed: a reprocess broke it")
        assert store.counts() == {INDEXED: 5, FAILED: 1}
    worker = Worker(settings, nlp=no_nlp())
    assert worker.index.count() == 5  # as many as the store marks indexed, yet one is missing
    assert worker.run_once().indexed == 1
    assert lost in set(worker.index.ids())
    worker.close()


def es_settings(tmp_path: Path, url: str, alias: str) -> Settings:
    return load_settings(overrides={"data_dir": tmp_path}, environ={
        "PESQUISA_INDEX_BACKEND": "elasticsearch", "PESQUISA_INDEX_URL": url,
        "PESQUISA_ELASTICSEARCH__INDEX": alias, "PESQUISA_ELASTICSEARCH__TIMEOUT": "10"})


def fill_more(settings: Settings, start: int, stop: int) -> None:
    with Store(settings.store_path) as store:
        for i in range(start, stop):
            url = f"https://ejemplo.pe/nota/{i}"
            store.save_document(NewDocument(url=url, canonical_url=canonical_url(url),
                                            id=document_id(url), source="x", title=f"Nota {i}",
                                            text=f"Texto de la nota número {i} sobre Lima."))


def test_elasticsearch_going_down_keeps_documents_queued_until_it_is_back(
    tmp_path: Path, es_url: str, es_prefix: str, es_client: Elasticsearch
) -> None:
    relay = Outage(es_url)
    settings = es_settings(tmp_path, relay.url, es_prefix)
    fill_more(settings, 0, 10)
    worker = Worker(settings, nlp=blank())  # annotation goes on while the index is down
    try:
        assert worker.run_once().indexed == 10
        fill_more(settings, 10, 80)  # more than a batch (32)
        relay.cut()
        with pytest.raises(RetryLater) as down:
            worker.run_once()
        assert down.value.code == "E504" and "\n" not in down.value.message
        with Store(settings.store_path) as store:  # all annotated, waiting for the index
            assert store.counts() == {INDEXED: 10, ANNOTATED: 70}
        relay.restore()
        done = worker.run_once()
        assert (done.annotated, done.indexed) == (0, 70)
        with Store(settings.store_path) as store:
            assert store.counts() == {INDEXED: 80}
            assert set(worker.index.ids()) == set(store.indexed_ids())
    finally:
        worker.close()
        relay.cut()


def test_an_index_lost_while_elasticsearch_was_down_is_filled_again(
    tmp_path: Path, es_url: str, es_prefix: str, es_client: Elasticsearch
) -> None:
    """The node comes back empty (a new volume, a restore): the worker that saw it fail
    checks the index again, creates it behind the alias and queues every indexed document
    for indexing (no NLP), instead of writing into an index Elasticsearch would make up."""
    relay = Outage(es_url)
    settings = es_settings(tmp_path, relay.url, es_prefix)
    fill_more(settings, 0, 8)
    worker = Worker(settings, nlp=blank())
    try:
        assert worker.run_once().indexed == 8
        fill_more(settings, 8, 12)
        relay.cut()
        with pytest.raises(RetryLater):
            worker.run_once()
        for name in es_client.indices.get_alias(name=es_prefix):
            es_client.indices.delete(index=name)
        relay.restore()
        worker._nlp = no_nlp()  # the 4 new ones were annotated before the outage
        done = worker.run_once()
        assert (done.annotated, done.indexed) == (0, 12)
        (behind,) = es_client.indices.get_alias(name=es_prefix)  # an alias again, not an index
        assert behind.startswith(f"{es_prefix}-v")
        assert es_client.count(index=es_prefix)["count"] == 12
    finally:
        worker.close()
        relay.cut()


def test_a_document_elasticsearch_refuses_is_set_aside(
    tmp_path: Path, es_url: str, es_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A document the index refuses for good (here: so many entity kinds that its facet
    fields pass the index's limit of 1000 fields) is marked failed with the reason; the rest
    of its batch is indexed, and the next drain does not send it again."""
    settings = es_settings(tmp_path, es_url, es_prefix)
    fill_more(settings, 0, 6)
    bad = document_id("https://ejemplo.pe/nota/3")
    with Store(settings.store_path) as store:
        doc = store.get(bad)
        start = doc.text.index("Lima")
        store.save_annotations(doc, [
            Mention(f"x:{n}", f"Nombre {n}", "MISC", f"kind_{n}", start, start + 4, "Lima",
                    doc.text) for n in range(1100)])
    worker = Worker(settings, nlp=blank())
    try:
        with caplog.at_level(logging.WARNING, logger="pesquisa.worker"):
            done = worker.run_once()
        assert (done.annotated, done.indexed, done.failed) == (5, 5, 1)
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and bad[:12] in warned[0] and "\n" not in warned[0]
        with Store(settings.store_path) as store:
            assert store.counts() == {INDEXED: 5, FAILED: 1}
            failed = store.get(bad)
            assert failed.error is not None and "Limit of total fields" in failed.error
            assert set(worker.index.ids()) == set(store.indexed_ids())
        assert worker.index.search("nota").total == 5
        again = worker.run_once()  # set aside: not sent again
        assert (again.annotated, again.indexed, again.failed) == (0, 0, 0)
    finally:
        worker.close()
