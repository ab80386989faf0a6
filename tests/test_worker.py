"""The worker sets aside a document that breaks NLP, and goes on with the others."""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from indexer.backends.sqlite import SqliteIndex
from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import load_settings
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
