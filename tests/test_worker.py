"""The worker sets aside a document that breaks NLP, and goes on with the others."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from indexer.backends.sqlite import SqliteIndex
from pesquisa.errors import RetryLater
from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import Settings, load_settings
from pesquisa.store import NewDocument, Store
from pesquisa.worker import Worker


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
