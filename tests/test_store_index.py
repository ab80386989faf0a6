"""What the store hands the index: entities with their names in each document, crime types,
clusters, the stream `pesquisa reindex` reads, and the queue an emptied index refills from."""

from __future__ import annotations

from pathlib import Path

from indexer.base import IndexEntity
from pesquisa.ids import canonical_url, document_id
from pesquisa.store import ANNOTATED, FAILED, FETCHED, INDEXED, Mention, NewDocument, Store

TEXT = ("La fiscal Delia Espinoza denunció a Dina Boluarte por colusión. Según la fiscal "
        "Espinoza, la presidenta Boluarte conocía la extorsión.")


def new_doc(url: str, text: str = TEXT, title: str = "Título") -> NewDocument:
    return NewDocument(url=url, canonical_url=canonical_url(url), id=document_id(url),
                       source="demo", title=title, text=text,
                       published="2026-03-02T10:00:00-05:00")


def mention(entity: str, name: str, text: str, kind: str = "official",
            source: str = "kb") -> Mention:
    start = TEXT.index(text)
    return Mention(entity_id=entity, name=name, label="PER", kind=kind, start=start,
                   end=start + len(text), text=text, sentence="...", source=source)


def crime(code: str, word: str) -> dict[str, object]:
    start = TEXT.index(word)
    return {"code": code, "article": None, "start": start, "end": start + len(word)}


def test_entities_carry_the_names_they_appear_under_in_each_document(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.save_document(new_doc("https://rpp.pe/a"))
        store.save_document(new_doc("https://rpp.pe/b", text=TEXT + " Otra vez."))
        a, b = store.pending(FETCHED, 10)
        store.save_annotations(a, [
            mention("official:dina-boluarte", "Dina Boluarte", "Dina Boluarte"),
            mention("official:dina-boluarte", "Dina Boluarte", "Boluarte"),
            mention("official:delia-espinoza", "Delia Espinoza", "Delia Espinoza"),
            mention("official:delia-espinoza", "Delia Espinoza", "Espinoza"),
            mention("official:delia-espinoza", "Delia Espinoza", "Espinoza"),
        ], [crime("extorsion", "extorsión"), crime("colusion", "colusión"),
            crime("colusion", "colusión")])
        store.save_annotations(b, [mention("official:dina-boluarte", "Dina Boluarte",
                                           "Boluarte")])

        found = store.entities_for([a.id, b.id, "unknown"])
        assert found[a.id] == [
            IndexEntity("official:delia-espinoza", "Delia Espinoza", "official",
                        ("Delia Espinoza", "Espinoza")),
            IndexEntity("official:dina-boluarte", "Dina Boluarte", "official",
                        ("Boluarte", "Dina Boluarte")),
        ]
        # aliases are per document: b only ever says "Boluarte"
        assert found[b.id] == [IndexEntity("official:dina-boluarte", "Dina Boluarte",
                                           "official", ("Boluarte",))]
        assert found["unknown"] == []
        assert store.crime_types_for([a.id, b.id]) == {a.id: ["colusion", "extorsion"],
                                                      b.id: []}

        (doc_a, doc_b) = store.index_documents([store.get(a.id), store.get(b.id)])
        assert (doc_a.id, doc_a.title, doc_a.text, doc_a.source) == (a.id, a.title, a.text,
                                                                      "demo")
        assert doc_a.published == a.published and doc_a.day == "2026-03-02"
        assert list(doc_a.entities) == found[a.id] and list(doc_a.crime_types) == [
            "colusion", "extorsion"]
        assert doc_a.cluster == a.id and doc_b.crime_types == []


def test_many_documents_at_once_stay_within_sql_limits(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        for n in range(1200):
            store.save_document(new_doc(f"https://rpp.pe/{n}", text=f"{TEXT} {n}"))
        docs = store.pending(FETCHED, 2000)
        for doc in docs:
            store.save_annotations(doc, [mention("official:dina-boluarte", "Dina Boluarte",
                                                 "Boluarte")])
        entities = store.entities_for([d.id for d in docs])
        assert len(entities) == 1200 and all(len(found) == 1 for found in entities.values())
        assert store.requeue_for_indexing([d.id for d in docs]) == 0  # none is indexed yet
        store.mark([d.id for d in docs], INDEXED)
        assert store.requeue_for_indexing([d.id for d in docs[:1100]]) == 1100
        assert store.counts() == {ANNOTATED: 1100, INDEXED: 100}


def test_the_reindex_stream_holds_every_annotated_document_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        urls = [f"https://rpp.pe/{n}" for n in range(8)]
        for n, url in enumerate(urls):
            store.save_document(new_doc(url, text=f"Nota número {n}. {TEXT}"))
        # an exact copy of note 0 under another URL joins its near-duplicate cluster
        store.save_document(new_doc("https://expreso.pe/copia", text="Nota número 0. " + TEXT))
        docs = {d.url: d for d in store.pending(FETCHED, 100)}
        copy = docs["https://expreso.pe/copia"]
        assert copy.duplicate_of == document_id(urls[0])
        for url in [*urls[:6], copy.url]:
            store.save_annotations(docs[url], [
                mention("official:dina-boluarte", "Dina Boluarte", "Dina Boluarte")])
        store.mark([docs[url].id for url in urls[:4]], INDEXED)
        store.mark([docs[urls[6]].id], FAILED, "boom")  # urls[7] still waits for NLP
        expected = sorted(docs[url].id for url in [*urls[:6], copy.url])
        assert store.count_indexable() == len(expected) == 7

        batches = list(store.iter_index_batches(4))
        assert [len(batch) for batch in batches] == [4, 3]
        streamed = [doc for batch in batches for doc in batch]
        assert [doc.id for doc in streamed] == expected  # id order, each once, nothing else
        assert all(doc.entities[0].id == "official:dina-boluarte" for doc in streamed)
        clusters = {doc.id: doc.cluster for doc in streamed}
        assert clusters[copy.id] == clusters[docs[urls[0]].id] == docs[urls[0]].id
        assert sorted(store.indexed_ids()) == sorted(docs[url].id for url in urls[:4])


def test_requeue_for_indexing_skips_nlp_and_other_states(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        for n in range(4):
            store.save_document(new_doc(f"https://rpp.pe/{n}", text=f"{n} {TEXT}"))
        docs = store.pending(FETCHED, 10)
        for doc in docs[:3]:
            store.save_annotations(doc, [mention("official:dina-boluarte", "Dina Boluarte",
                                                 "Boluarte")])
        store.mark([docs[0].id, docs[1].id], INDEXED)
        assert store.requeue_for_indexing() == 2
        assert store.counts() == {ANNOTATED: 3, FETCHED: 1}
        # annotations stay: the index gets them without NLP running again
        assert store.entities_for([docs[0].id])[docs[0].id][0].aliases == ("Boluarte",)
        assert store.requeue_for_indexing() == 0
