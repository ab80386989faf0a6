"""Review of the store, dedup and index changes of issue 3: a data dir from the previous
release upgraded in place, and cluster edge cases."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from pesquisa.demo.site import article_url, load_articles
from pesquisa.ids import canonical_url, content_hash, document_id
from pesquisa.store import ANNOTATED, INDEXED, MIGRATIONS, NewDocument, Store

BASE = "https://demo.example"
ARTICLES = {f"{a['outlet']}-{a['id']}": a for a in load_articles()}
ORIGINAL, COPY = "elperuano-260114", "rpp-1629004"  # Andina's wire story and RPP's reprint


def body(article: dict[str, Any]) -> str:
    return "\n".join(article["paragraphs"])


def as_new(article: dict[str, Any], *, url: str | None = None, published: str | None = None,
           text: str | None = None, title: str | None = None) -> NewDocument:
    url = url or article_url(article, BASE)
    return NewDocument(
        url=url, canonical_url=canonical_url(url), id=document_id(url),
        source=f"demo-{article['outlet']}", title=article["title"] if title is None else title,
        text=body(article) if text is None else text,
        published=published or article["published"],
    )


def v2_store(path: Path, docs: list[NewDocument], status: str = INDEXED) -> None:
    """A store as the previous release left it: migrations 1 and 2, documents indexed."""
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:2]:
        db.executescript(script)
    for doc in docs:
        db.execute(
            "INSERT INTO documents (id, url, canonical_url, source, title, published, "
            "fetched_at, text, content_hash, language, author, status, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'es', NULL, ?, ?)",
            (doc.id, doc.url, doc.canonical_url, doc.source, doc.title, doc.published,
             "2026-09-12T00:00:00+00:00", doc.text, content_hash(doc.title + "\n" + doc.text),
             status, "2026-09-12T00:00:00+00:00"),
        )
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()


def test_a_v2_store_upgrades_in_place_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "pesquisa.db"
    old = [as_new(a) for key, a in ARTICLES.items() if key != COPY]
    v2_store(path, old)
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        doc = store.get(old[0].id)
        assert (doc.duplicate_of, doc.warc, doc.extra, doc.language_flagged) == (
            None, None, None, False)
        assert doc.content_type == "text/html"
        exported = [d.export() for d in store.iter_documents()]
        assert len(exported) == len(old)
        json.dumps(exported)  # every field serializable
        assert store.save_document(old[0]) == "seen"  # nothing changed, nothing re-queued
        assert store.get(old[0].id).status == INDEXED


def test_a_copy_of_a_document_stored_before_the_upgrade_joins_it(tmp_path: Path) -> None:
    """Documents stored by the previous release have no MinHash signature: a syndicated copy
    crawled after the upgrade must still find them."""
    path = tmp_path / "pesquisa.db"
    original = as_new(ARTICLES[ORIGINAL])
    v2_store(path, [original])
    with Store(path) as store:
        copy = as_new(ARTICLES[COPY])
        assert store.save_document(copy) == "new"
        assert store.get(copy.id).duplicate_of == original.id


def test_upgrade_clusters_near_duplicates_already_stored(tmp_path: Path) -> None:
    path = tmp_path / "pesquisa.db"
    original, copy = as_new(ARTICLES[ORIGINAL]), as_new(ARTICLES[COPY])
    v2_store(path, [as_new(a) for a in ARTICLES.values()])
    with Store(path) as store:
        assert store.get(copy.id).duplicate_of == original.id
        # re-pointed after it was indexed: the worker indexes it again with its cluster
        assert store.get(copy.id).status == ANNOTATED
        assert store.get(original.id).status == INDEXED
        clustered = store.db.execute(
            "SELECT COUNT(*) FROM documents WHERE duplicate_of IS NOT NULL").fetchone()[0]
        assert clustered == 1


# --------------------------------------------------------------------------- search collapse


def test_a_filter_finds_the_member_whose_primary_it_excludes(tmp_path: Path) -> None:
    from indexer.backends.sqlite import SqliteIndex
    from indexer.base import IndexDocument

    text = "El fiscal allanó la sede de la constructora por lavado de activos en Lima."
    index = SqliteIndex(tmp_path / "index.sqlite")
    index.upsert([
        IndexDocument("andina", "https://andina.pe/1", "andina", "Allanan constructora", text,
                      "2026-09-11T06:00:00-05:00"),
        IndexDocument("expreso", "https://expreso.pe/1", "expreso", "Allanan constructora",
                      text, "2026-09-11T09:00:00-05:00", cluster="andina"),
        IndexDocument("rpp", "https://rpp.pe/1", "rpp", "Otra nota", "Huaico en Chosica.",
                      None),
    ])
    for query in ("lavado source:expreso", "source:expreso"):
        result = index.search(query)
        assert (result.total, [h.id for h in result.hits]) == (1, ["expreso"]), query
        assert result.hits[0].duplicates == 0
    result = index.search("lavado")
    assert result.total == 1 and result.hits[0].duplicates == 1
    assert "lavado" in result.hits[0].snippet
    assert index.search("lavado", offset=5).hits == []
    assert index.search("lavado", offset=5).total == 1
    everything = index.search("NOT zzzz", sort="date")
    assert everything.total == len(everything.hits) == 2
    assert [h.id for h in everything.hits] == ["expreso", "rpp"]  # undated last
    index.close()


def test_the_api_reads_a_v2_store_before_anything_migrated_it(tmp_path: Path) -> None:
    """After an upgrade, `pesquisa serve` may open the store (read-only) before any crawl or
    worker migrated it: document pages must still work, not fail on a missing column."""
    from fastapi.testclient import TestClient

    from pesquisa.settings import load_settings
    from pesquisa.web.app import create_app

    settings = load_settings(overrides={"data_dir": tmp_path / "data"}, environ={})
    settings.data_dir.mkdir(parents=True)
    doc = as_new(ARTICLES[ORIGINAL])
    v2_store(settings.store_path, [doc])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get(f"/api/documents/{doc.id}")
        assert response.status_code == 200, response.text
        assert response.json()["id"] == doc.id


# --------------------------------------------------------------------------- clusters


def test_a_changed_threshold_still_finds_documents_stored_before(tmp_path: Path) -> None:
    """Bands depend on the threshold (rows per band); the signatures do not. Documents saved
    under one `near_duplicate_threshold` must still be found after the setting changes."""
    path = tmp_path / "s.db"
    original, copy = as_new(ARTICLES[ORIGINAL]), as_new(ARTICLES[COPY])
    with Store(path) as store:  # 0.8
        store.save_document(original)
    with Store(path, near_duplicate_threshold=0.7) as store:
        store.save_document(copy)
        assert store.get(copy.id).duplicate_of == original.id
        (banded,) = store.db.execute(
            "SELECT COUNT(DISTINCT band) FROM near_dup_bands").fetchone()
        from pesquisa.dedup import bands_and_rows
        assert banded == bands_and_rows(0.7)[0]  # one layout, not two mixed


def words(start: int, stop: int) -> str:
    """Distinct made-up words, so that shingles overlap exactly where the ranges do."""
    return " ".join(f"palabra{i}" for i in range(start, stop))


def test_a_bridge_merges_two_clusters_under_the_earliest(tmp_path: Path) -> None:
    article = ARTICLES[ORIGINAL]
    a = as_new(article, url=f"{BASE}/a", text=words(0, 400), published="2026-09-11T10:00:00-05:00")
    c = as_new(article, url=f"{BASE}/c", text=words(60, 460), published="2026-09-11T08:00:00-05:00")
    b = as_new(article, url=f"{BASE}/b", text=words(30, 430), published="2026-09-11T12:00:00-05:00")
    d = replace(as_new(article, url=f"{BASE}/d", text=words(0, 400)), published=None)
    with Store(tmp_path / "s.db") as store:
        store.save_document(a)
        store.save_document(c)
        assert store.get(a.id).duplicate_of is None and store.get(c.id).duplicate_of is None
        store.save_document(b)  # similar to both: one cluster, the earliest (c) primary
        assert [store.get(x.id).duplicate_of for x in (a, b, c)] == [c.id, c.id, None]
        store.save_document(d)  # an exact copy of a, undated: never the primary
        assert store.get(d.id).duplicate_of == c.id
        # the same published time: the earlier fetched, then the id, decides, stably
        e = as_new(article, url=f"{BASE}/e", text=words(0, 400),
                   published="2026-09-11T08:00:00-05:00")
        store.save_document(e)
        primary = store.get(c.id).cluster
        assert primary in {c.id, e.id}
        assert {store.get(x.id).cluster for x in (a, b, c, d, e)} == {primary}
        assert store.save_document(e) == "seen" and store.get(c.id).cluster == primary


def test_a_corrected_primary_stays_primary(tmp_path: Path) -> None:
    """Among undated copies the first fetched is the primary; a correction of it re-fetches
    it, but it was still seen first: the cluster must not flip (and be re-indexed)."""
    article = ARTICLES[ORIGINAL]
    first = replace(as_new(article, url=f"{BASE}/first", text=words(0, 400)), published=None)
    second = replace(as_new(article, url=f"{BASE}/second", text=words(10, 410)), published=None)
    with Store(tmp_path / "s.db") as store:
        store.save_document(first)
        store.db.execute("UPDATE documents SET fetched_at = '2026-01-01T00:00:00+00:00'")
        store.save_document(second)
        store.db.execute("UPDATE documents SET fetched_at = '2026-01-02T00:00:00+00:00' "
                         "WHERE id = ?", (second.id,))
        assert store.get(second.id).duplicate_of == first.id
        store.mark([first.id, second.id], INDEXED)
        corrected = replace(first, text=words(0, 400) + " fe de erratas")
        assert store.save_document(corrected) == "updated"
        assert store.get(first.id).duplicate_of is None
        assert store.get(second.id).duplicate_of == first.id
        assert store.get(second.id).status == INDEXED  # nothing to index again
