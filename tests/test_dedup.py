"""Near-duplicate clusters: syndicated copies under other URLs, exact copies, primaries,
idempotent saves, collapsed search results, and re-crawls that add nothing."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import spacy

from indexer.backends.sqlite import SqliteIndex
from pesquisa.dedup import (
    NUM_PERM,
    RECALL_AT_THRESHOLD,
    NearDuplicates,
    bands_and_rows,
    signature,
    similarity,
)
from pesquisa.demo.site import article_url, load_articles
from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import load_settings
from pesquisa.store import ANNOTATED, INDEXED, NewDocument, Store
from pesquisa.worker import Worker
from tests.conftest import Site, make_workspace

BASE = "https://demo.example"
ARTICLES = {f"{a['outlet']}-{a['id']}": a for a in load_articles()}
ORIGINAL, COPY = "elperuano-260114", "rpp-1629004"  # Andina's wire story and RPP's reprint


def body(article: dict[str, Any]) -> str:
    return "\n".join(article["paragraphs"])


def as_new(article: dict[str, Any], *, url: str | None = None, published: str | None = None,
           text: str | None = None) -> NewDocument:
    url = url or article_url(article, BASE)
    return NewDocument(
        url=url, canonical_url=canonical_url(url), id=document_id(url),
        source=f"demo-{article['outlet']}", title=article["title"],
        text=body(article) if text is None else text,
        published=published or article["published"],
    )


def bands(store: Store) -> int:
    return int(store.db.execute("SELECT COUNT(*) FROM near_dup_bands").fetchone()[0])


# --------------------------------------------------------------------------- clusters


def test_a_syndicated_copy_joins_its_original(tmp_path: Path) -> None:
    original, copy = as_new(ARTICLES[ORIGINAL]), as_new(ARTICLES[COPY])
    assert original.url != copy.url and original.title != copy.title
    with Store(tmp_path / "s.db") as store:
        assert store.save_document(original) == "new"
        assert not store.in_cluster(original.id)
        assert store.save_document(copy) == "new"
        assert store.get(copy.id).duplicate_of == original.id  # the earlier published
        assert store.get(original.id).duplicate_of is None
        assert store.get(copy.id).cluster == store.get(original.id).cluster == original.id
        assert store.in_cluster(copy.id) and store.in_cluster(original.id)
        assert store.get(copy.id).url == copy.url  # it keeps its own URL and source
        assert store.get(copy.id).source == "demo-rpp"


def test_unrelated_demo_articles_never_cluster(tmp_path: Path) -> None:
    """The 34 demo articles share topics (extortion, corruption, mining) and phrasing, yet
    none of them is a near-duplicate of another; only the syndicated copy joins a cluster."""
    with Store(tmp_path / "s.db") as store:
        for article in ARTICLES.values():
            store.save_document(as_new(article))
        clustered = store.db.execute(
            "SELECT id, duplicate_of FROM documents WHERE duplicate_of IS NOT NULL").fetchall()
    original, copy = as_new(ARTICLES[ORIGINAL]), as_new(ARTICLES[COPY])
    assert [tuple(row) for row in clustered] == [(copy.id, original.id)]

    sigs = {key: signature(body(a)) for key, a in ARTICLES.items()}
    assert all(sig is not None for sig in sigs.values())
    unrelated = max(
        similarity(sigs[a], sigs[b])
        for a, b in itertools.combinations(sigs, 2) if {a, b} != {ORIGINAL, COPY}
    )
    pair = similarity(sigs[ORIGINAL], sigs[COPY])
    assert unrelated < 0.2 < 0.8 < pair  # measured: 0.04 and 0.87 (exact Jaccard 0.89)


def test_sources_of_norms_cluster_exact_copies_only(tmp_path: Path) -> None:
    """Two appointment norms share all their considerations and differ in the name and post:
    as news they would be near-duplicates, but a source of norms (near_duplicates: false)
    keeps each one its own document; an exact copy of one still joins it."""
    considerations = " ".join(
        f"Que, mediante el documento {n} de la Secretaría General, se propone la designación "
        "del funcionario que ocupará el cargo de confianza, conforme al Reglamento de "
        "Organización y Funciones y a la Ley N° 27594, que regula la participación del "
        f"Poder Ejecutivo en el nombramiento y designación de funcionarios públicos ({n});"
        for n in range(1, 7)
    )

    def norm(name: str, post: str, number: int, *, near: bool) -> NewDocument:
        url = f"https://busquedas.elperuano.pe/dispositivo/NL/{number}-1"
        return NewDocument(
            url=url, canonical_url=canonical_url(url), id=document_id(url),
            source="elperuano-normas-legales", title=f"Designan a {name}",
            text=f"{considerations} SE RESUELVE: Designar a {name} como {post}.",
            published="2026-11-20T00:00:00-05:00", near_duplicates=near,
        )

    first = norm("Carmen Rosa Quispe Huamán", "Directora de Administración", 2401, near=False)
    second = norm("Jorge Luis Paredes Soto", "Director de Asesoría Jurídica", 2402, near=False)
    assert similarity(signature(first.text), signature(second.text)) > 0.8  # alike as text
    with Store(tmp_path / "s.db") as store:
        store.save_document(first)
        store.save_document(second)
        assert store.get(second.id).duplicate_of is None  # each norm is its own document
        copy_url = "https://www.gob.pe/institucion/pcm/normas-legales/2401-designan"
        store.save_document(NewDocument(**{**first.__dict__, "url": copy_url,
                                           "canonical_url": canonical_url(copy_url),
                                           "id": document_id(copy_url)}))
        assert store.get(document_id(copy_url)).duplicate_of == first.id  # exact copy
    with Store(tmp_path / "news.db") as store:  # the same texts as news would cluster
        store.save_document(norm("Carmen Rosa Quispe Huamán", "Directora", 2401, near=True))
        store.save_document(norm("Jorge Luis Paredes Soto", "Director", 2402, near=True))
        assert store.db.execute(
            "SELECT COUNT(*) FROM documents WHERE duplicate_of IS NOT NULL").fetchone()[0] == 1


def test_an_exact_copy_is_a_cluster_even_when_short(tmp_path: Path) -> None:
    article = ARTICLES[ORIGINAL]
    short = "Comunicado: la Fiscalía abrió investigación preliminar por extorsión."
    first = as_new(article, text=short)
    second = as_new(article, url=f"{BASE}/otro-medio/comunicado", text=short,
                    published="2026-09-12T10:00:00-05:00")
    with Store(tmp_path / "s.db") as store:
        store.save_document(first)
        store.save_document(second)
        assert store.get(second.id).duplicate_of == first.id
        assert bands(store) == 0  # too short for MinHash: the content hash decided


def test_saving_again_is_idempotent(tmp_path: Path) -> None:
    original, copy = as_new(ARTICLES[ORIGINAL]), as_new(ARTICLES[COPY])
    with Store(tmp_path / "s.db") as store:
        store.save_document(original)
        store.save_document(copy)
        per_doc = bands_and_rows(0.8)[0]
        assert bands(store) == 2 * per_doc
        assert store.save_document(copy) == "seen"
        assert NearDuplicates(store.db).assign(copy.id) == []  # nothing to change
        assert NearDuplicates(store.db).assign(original.id) == []
        assert bands(store) == 2 * per_doc
        signatures = store.db.execute("SELECT COUNT(*) FROM near_dup_signatures").fetchone()
        assert signatures[0] == 2
        # a correction to the copy (a word changed) keeps it in the cluster, bands replaced
        edited = as_new(ARTICLES[COPY], text=body(ARTICLES[COPY]).replace("hoy", "este jueves"))
        assert store.save_document(edited) == "updated"
        assert store.get(copy.id).duplicate_of == original.id
        assert bands(store) == 2 * per_doc


def test_an_earlier_arrival_becomes_primary(tmp_path: Path) -> None:
    article = ARTICLES[ORIGINAL]
    late = as_new(ARTICLES[COPY])  # RPP's reprint, 09:40
    later = as_new(article, url=f"{BASE}/correo/reprint", published="2026-09-11T15:00:00-05:00")
    original = as_new(article)  # El Peruano, 06:00, crawled last
    with Store(tmp_path / "s.db") as store:
        store.save_document(late)
        store.save_document(later)
        assert store.get(later.id).duplicate_of == late.id
        store.mark([late.id, later.id], INDEXED)  # the worker got to them
        store.save_document(original)
        assert store.get(original.id).duplicate_of is None
        assert store.get(late.id).duplicate_of == original.id
        assert store.get(later.id).duplicate_of == original.id
        # both changed cluster after indexing: back to the worker, to be indexed again
        assert store.get(late.id).status == store.get(later.id).status == ANNOTATED


def test_a_rewritten_primary_leaves_and_the_rest_stay_together(tmp_path: Path) -> None:
    original, copy = as_new(ARTICLES[ORIGINAL]), as_new(ARTICLES[COPY])
    third = as_new(ARTICLES[ORIGINAL], url=f"{BASE}/correo/reprint",
                   published="2026-09-11T15:00:00-05:00")
    other = body(ARTICLES["elcomercio-1018977"])
    with Store(tmp_path / "s.db") as store:
        for doc in (original, copy, third):
            store.save_document(doc)
        assert store.save_document(as_new(ARTICLES[ORIGINAL], text=other)) == "updated"
        assert store.get(original.id).duplicate_of is None
        assert not store.in_cluster(original.id)
        assert store.get(copy.id).duplicate_of is None  # now the earliest of the two left
        assert store.get(third.id).duplicate_of == copy.id


def test_bands_catch_the_threshold_with_high_probability() -> None:
    for threshold in (0.5, 0.8, 0.9, 1.0):
        b, r = bands_and_rows(threshold)
        assert b * r <= NUM_PERM
        assert 1 - (1 - threshold**r) ** b >= RECALL_AT_THRESHOLD
        # one more row per band would miss too often: the cheapest bands that catch it
        if r < NUM_PERM and threshold < 1:
            b2, r2 = NUM_PERM // (r + 1), r + 1
            assert 1 - (1 - threshold**r2) ** b2 < RECALL_AT_THRESHOLD


def test_a_higher_threshold_keeps_the_pair_apart(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db", near_duplicate_threshold=0.95) as store:
        store.save_document(as_new(ARTICLES[ORIGINAL]))
        store.save_document(copy := as_new(ARTICLES[COPY]))
        assert store.get(copy.id).duplicate_of is None


# --------------------------------------------------------------------------- index


def blank() -> spacy.language.Language:
    nlp = spacy.blank("es")
    nlp.add_pipe("sentencizer")
    return nlp


def test_search_shows_a_cluster_once(tmp_path: Path) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    original, copy = as_new(ARTICLES[ORIGINAL]), as_new(ARTICLES[COPY])
    with Store(settings.store_path) as store:
        for article in ARTICLES.values():
            store.save_document(as_new(article))
    worker = Worker(settings, nlp=blank())
    assert worker.run_once().indexed == len(ARTICLES)

    index = worker.index
    assert isinstance(index, SqliteIndex)
    result = index.search("operadoras IMEI")
    assert result.total == 1
    (hit,) = result.hits
    assert hit.id in {original.id, copy.id} and hit.duplicates == 1
    assert result.to_json()["hits"][0]["duplicates"] == 1
    # every document matches: 35 documents, 34 clusters, pages without gaps or repeats
    everything = index.search("NOT zzzz", limit=100)
    assert everything.total == len(ARTICLES) - 1 == len(everything.hits)
    paged = [h.id for offset in range(0, 40, 7)
             for h in index.search("NOT zzzz", limit=7, offset=offset).hits]
    assert paged == [h.id for h in everything.hits]
    dates = [h.published or "" for h in everything.hits]
    assert dates == sorted(dates, reverse=True)
    # date sort keeps the newest member of the cluster: RPP's reprint
    (newest,) = index.search("operadoras IMEI", sort="date").hits
    assert (newest.id, newest.duplicates) == (copy.id, 1)
    # relevance: the member that ranks best, and no other hit is lost
    extortion = index.search("extorsión", limit=100)
    assert extortion.total == len(extortion.hits)
    assert sum(h.duplicates for h in extortion.hits) == 1

    # an earlier copy arrives: the indexed members go back to the worker and are re-indexed
    earlier = as_new(ARTICLES[ORIGINAL], url=f"{BASE}/andina/noticia-1",
                     published="2026-09-11T05:00:00-05:00")
    with Store(settings.store_path) as store:
        store.save_document(earlier)
        assert store.counts().get(ANNOTATED) == 2
    worker.run_once()
    rows = sqlite3.connect(settings.index_path).execute(
        "SELECT id, cluster FROM docs WHERE id IN (?, ?, ?)",
        (earlier.id, original.id, copy.id)).fetchall()
    assert sorted(rows) == sorted([(earlier.id, earlier.id), (original.id, earlier.id),
                                   (copy.id, earlier.id)])
    assert index.search("operadoras IMEI").hits[0].duplicates == 2
    worker.close()


def test_stale_cluster_is_not_marked_indexed(tmp_path: Path) -> None:
    original, copy = as_new(ARTICLES[ORIGINAL]), as_new(ARTICLES[COPY])
    with Store(tmp_path / "s.db") as store:
        store.save_document(copy)
        store.mark([copy.id], ANNOTATED)
        read_by_worker = store.get(copy.id)  # the worker reads it, cluster: its own
        store.save_document(original)  # meanwhile its original arrives
        store.mark_indexed([read_by_worker])
        assert store.get(copy.id).status == ANNOTATED  # indexed with a stale cluster: again


@pytest.mark.slow
def test_crawl_clusters_the_copy_and_a_recrawl_adds_nothing(
    site: Site, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path, site)
    ws.cli("crawl", check=True)
    db = sqlite3.connect(ws.data_dir / "pesquisa.db")
    original = document_id(article_url(ARTICLES[ORIGINAL], site.base_url))
    copy = document_id(article_url(ARTICLES[COPY], site.base_url))
    clustered = db.execute(
        "SELECT id, duplicate_of FROM documents WHERE duplicate_of IS NOT NULL").fetchall()
    assert clustered == [(copy, original)]
    (duplicates,) = db.execute("SELECT SUM(duplicates) FROM crawl_runs").fetchone()
    assert duplicates == 1  # whichever source brought the second of the pair
    before = sorted(db.execute("SELECT id, fetched_at, duplicate_of FROM documents"))

    ws.cli("crawl", check=True)
    assert sorted(db.execute("SELECT id, fetched_at, duplicate_of FROM documents")) == before
    second = db.execute("SELECT SUM(new), SUM(updated), SUM(duplicates) FROM crawl_runs "
                        "WHERE id > (SELECT MAX(id) / 2 FROM crawl_runs)").fetchone()
    assert second == (0, 0, 0)
    bands_per_doc = bands_and_rows(0.8)[0]
    (signed,) = db.execute("SELECT COUNT(*) FROM near_dup_signatures").fetchone()
    (banded,) = db.execute("SELECT COUNT(*) FROM near_dup_bands").fetchone()
    assert banded == signed * bands_per_doc  # no duplicate bands after the second crawl

    exported = {d["id"]: d for d in map(
        json.loads, ws.cli("export", "documents", check=True).stdout.splitlines())}
    assert exported[copy]["duplicate_of"] == original
    assert exported[original]["duplicate_of"] is None
