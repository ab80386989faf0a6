"""Moving from SQLite to Elasticsearch with `pesquisa reindex --to elasticsearch` carries every
document over: the demo site is crawled and processed into SQLite, then reindexed into a real
Elasticsearch node; counts, id sets, a sample of queries and their facets agree.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from indexer import open_index
from indexer.base import IndexBackend, SearchResult
from pesquisa.ids import canonical_url, document_id
from pesquisa.lock import writer_lock
from pesquisa.reindex import reindex as run_reindex
from pesquisa.store import FAILED, INDEXED, NewDocument, Store
from tests.conftest import Site, Workspace, make_workspace
from tests.es_node import delete_indexes

pytestmark = pytest.mark.slow


def closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def one_line_error(result: Any, code: int, needle: str) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pesquisa: error: [E"), result.stderr
    assert needle in lines[0] and "Traceback" not in result.stderr
    return str(lines[0])


@pytest.fixture(scope="module")
def crawled(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The demo site crawled and processed into the default SQLite index, once."""
    ws = make_workspace(tmp_path_factory.mktemp("reindex"), site)
    ws.cli("crawl", check=True)
    ws.cli("process", check=True)
    return ws


@pytest.fixture(scope="module")
def alias(es_client: Elasticsearch) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    delete_indexes(es_client, name)


@pytest.fixture(scope="module")
def moved(crawled: Workspace, es_url: str, alias: str) -> Workspace:
    """The crawled workspace with its documents reindexed into Elasticsearch (searches still
    on SQLite: the settings were not switched)."""
    crawled.env = crawled.env | {"PESQUISA_INDEX_URL": es_url,
                                 "PESQUISA_ELASTICSEARCH__INDEX": alias}
    result = crawled.cli("reindex", "--to", "elasticsearch", "--batch-size", "7", check=True)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("done: ") and "elasticsearch" in lines[0]
    assert "PESQUISA_INDEX_BACKEND=elasticsearch" in lines[1]  # how to switch
    assert "reindexing" in result.stderr  # the progress bar
    return crawled


def store_indexed(ws: Workspace) -> set[str]:
    db = sqlite3.connect(ws.data_dir / "pesquisa.db")
    try:
        return {row[0] for row in db.execute("SELECT id FROM documents WHERE status = ?",
                                             (INDEXED,))}
    finally:
        db.close()


def both(ws: Workspace) -> tuple[IndexBackend, IndexBackend]:
    settings = ws.settings()
    return (open_index(settings, create=False, backend="sqlite"),
            open_index(settings, create=False, backend="elasticsearch"))


def clusters(ws: Workspace, result: SearchResult) -> dict[str, int]:
    """Each hit as its near-duplicate cluster (which member stands for a cluster may differ
    between engines that rank differently) with how many other members matched."""
    with Store(ws.data_dir / "pesquisa.db", read_only=True) as store:
        return {store.get(hit.id).cluster: hit.duplicates for hit in result.hits}


def sample_queries(ws: Workspace) -> list[str]:
    """Boolean, phrase, proximity, wildcard, field, entity id, kind, crime type, date range
    and match-all queries, with values taken from what the store holds."""
    with Store(ws.data_dir / "pesquisa.db", read_only=True) as store:
        top = store.entities_with_counts(limit=1)[0]
        official = store.entities_with_counts("official", limit=1)
        days = sorted(d.published[:10] for d in store.iter_documents() if d.published)
        source = store.db.execute(
            "SELECT source FROM documents GROUP BY source ORDER BY COUNT(*) DESC, source LIMIT 1"
        ).fetchone()[0]
    middle = days[len(days) // 2]
    queries = [
        "corrupción AND NOT Lima",
        "extorsión OR sicariato",
        '"lavado de activos"',
        '"fiscalía prisión"~10',
        "lav*",
        "title:fiscalía",
        f"source:{source}",
        f'entity:"{top["id"]}"',
        "kind:crime_group AND crime:extorsion",
        f"published:[{days[0]} TO {middle}]",
        "*",
    ]
    if official:
        queries.append(f'entity:"{official[0]["name"]}" OR kind:official')
    return queries


def test_reindex_carries_every_document_over(moved: Workspace, es_client: Elasticsearch,
                                             alias: str) -> None:
    indexed = store_indexed(moved)
    assert len(indexed) >= 34
    sqlite_index, es_index = both(moved)
    try:
        assert sqlite_index.count() == es_index.count() == len(indexed)
        assert set(es_index.ids()) == set(sqlite_index.ids()) == indexed
    finally:
        sqlite_index.close()
        es_index.close()
    assert es_client.count(index=alias)["count"] == len(indexed)
    (behind,) = es_client.indices.get_alias(name=alias)  # one versioned index behind it
    assert behind.startswith(f"{alias}-v")


def test_the_same_queries_give_the_same_answers(moved: Workspace) -> None:
    sqlite_index, es_index = both(moved)
    found = 0
    try:
        for query in sample_queries(moved):
            for sort in ("relevance", "date"):
                lite = sqlite_index.search(query, limit=100, sort=sort, facets=True,
                                           facet_size=20)
                elastic = es_index.search(query, limit=100, sort=sort, facets=True,
                                          facet_size=20)
                assert lite.total == elastic.total, query
                assert clusters(moved, lite) == clusters(moved, elastic), query
                assert lite.facets is not None and elastic.facets is not None
                assert lite.facets.to_json() == elastic.facets.to_json(), query
            week = [ix.search(query, facets=True, interval="week").facets for ix in
                    (sqlite_index, es_index)]
            assert week[0] == week[1], query
            found += lite.total > 0
    finally:
        sqlite_index.close()
        es_index.close()
    assert found >= len(sample_queries(moved)) - 1  # the sample finds documents


def test_search_after_switching_backends_is_the_same(moved: Workspace) -> None:
    query = '"lavado de activos" OR extorsión'
    on_sqlite = moved.cli("search", query, "--json", "--facets", "--limit", "100", check=True)
    switched = moved.env | {"PESQUISA_INDEX_BACKEND": "elasticsearch"}
    on_es = Workspace(moved.data_dir, moved.sources_dir, switched).cli(
        "search", query, "--json", "--facets", "--limit", "100", check=True)
    lite, elastic = json.loads(on_sqlite.stdout), json.loads(on_es.stdout)
    assert lite["total"] == elastic["total"] > 0
    assert lite["facets"] == elastic["facets"]


def test_a_second_reindex_swaps_to_a_new_index(moved: Workspace, es_client: Elasticsearch,
                                               alias: str) -> None:
    (first,) = es_client.indices.get_alias(name=alias)
    moved.cli("reindex", "--to", "elasticsearch", check=True)
    (second,) = es_client.indices.get_alias(name=alias)
    assert second != first and second.startswith(f"{alias}-v")
    assert not es_client.indices.exists(index=first)  # the old one is gone
    assert es_client.count(index=alias)["count"] == len(store_indexed(moved))


def test_an_unreachable_node_is_one_line_and_keeps_sqlite(moved: Workspace,
                                                          es_client: Elasticsearch,
                                                          alias: str) -> None:
    before = moved.cli("search", "extorsión", "--json", "--limit", "100", check=True).stdout
    (behind,) = es_client.indices.get_alias(name=alias)
    down = moved.env | {"PESQUISA_INDEX_URL": f"http://127.0.0.1:{closed_port()}"}
    cut_off = Workspace(moved.data_dir, moved.sources_dir, down)
    one_line_error(cut_off.cli("reindex", "--to", "elasticsearch"), 3, "E504")
    # nothing changed: SQLite answers as before, the alias still names the same index
    after = moved.cli("search", "extorsión", "--json", "--limit", "100", check=True).stdout
    assert json.loads(after) == json.loads(before)
    assert es_client.indices.get_alias(name=alias).keys() == {behind}
    # the same node with the backend switched: search and run fail in one line too
    switched = Workspace(moved.data_dir, moved.sources_dir,
                         down | {"PESQUISA_INDEX_BACKEND": "elasticsearch"})
    one_line_error(switched.cli("search", "extorsión"), 3, "E504")
    one_line_error(switched.cli("search", "a AND ("), 2, "E501")  # the query is reported first


def test_reindex_of_sqlite_in_place_keeps_every_document(moved: Workspace) -> None:
    before = moved.cli("search", "*", "--json", "--facets", "--limit", "100", check=True)
    result = moved.cli("reindex", check=True)
    assert "sqlite" in result.stdout and "PESQUISA_INDEX_BACKEND" not in result.stdout
    after = moved.cli("search", "*", "--json", "--facets", "--limit", "100", check=True)
    assert json.loads(after.stdout) == json.loads(before.stdout)
    settings = moved.settings()
    index = open_index(settings, create=False, backend="sqlite")
    try:
        assert index.count() == len(store_indexed(moved))
    finally:
        index.close()


def test_reindex_waits_for_no_worker_and_needs_a_store(moved: Workspace,
                                                       workspace: Workspace) -> None:
    with writer_lock(moved.data_dir):  # as if `pesquisa process` were running
        one_line_error(moved.cli("reindex"), 3, "E606")
    one_line_error(workspace.cli("reindex"), 1, "E604")


@pytest.mark.parametrize("backend", ["elasticsearch", "sqlite"])
def test_an_interrupted_reindex_leaves_the_old_index_serving(
    moved: Workspace, es_client: Elasticsearch, alias: str, backend: str
) -> None:
    """Ctrl-C half-way (or any failure): searches keep the complete old index, and nothing of
    the unfinished one is left behind."""
    settings = moved.settings()
    query = '"lavado de activos" OR extorsión'
    index = open_index(settings, create=False, backend=backend)
    try:
        before = index.search(query, limit=100, facets=True).to_json()
        count = index.count()
    finally:
        index.close()
    aliased = es_client.indices.get_alias(name=alias).keys()
    indexes = set(es_client.indices.get(index=f"{alias}*").body)

    def interrupt(sent: int) -> None:
        if sent >= 14:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_reindex(settings, backend, batch_size=7, on_batch=interrupt)
    index = open_index(settings, create=False, backend=backend)
    try:
        assert index.count() == count
        assert index.search(query, limit=100, facets=True).to_json() == before
    finally:
        index.close()
    assert es_client.indices.get_alias(name=alias).keys() == aliased
    assert set(es_client.indices.get(index=f"{alias}*").body) == indexes
    with writer_lock(moved.data_dir):  # and the lock was let go
        pass


def test_client_requests_stay_out_of_the_log(moved: Workspace) -> None:
    """One line per Elasticsearch request (every search, every bulk) would push everything
    else out of the rotated log file; what failed is logged by the backend, in one line."""
    log = (moved.data_dir / "logs" / "pesquisa.log").read_text(encoding="utf-8")
    assert "reindexed" in log and "alias" in log
    assert " INFO elastic_transport" not in log


def test_switching_later_adds_what_sqlite_indexed_in_between(
    crawled: Workspace, es_url: str, es_prefix: str, es_client: Elasticsearch, tmp_path: Path
) -> None:
    """README, "Moving to Elasticsearch", step 3: reindex, keep running on SQLite a while,
    then switch. The worker then adds to Elasticsearch what SQLite indexed in between, even
    when a document set aside meanwhile (still in both indexes) makes the counts look even."""
    shutil.copytree(crawled.data_dir, tmp_path / "data")
    ws = Workspace(tmp_path / "data", crawled.sources_dir, crawled.env | {
        "PESQUISA_DATA_DIR": str(tmp_path / "data"), "PESQUISA_INDEX_URL": es_url,
        "PESQUISA_ELASTICSEARCH__INDEX": es_prefix})
    ws.cli("reindex", "--to", "elasticsearch", check=True)
    url = "https://larepublica.pe/politica/2026/11/30/nueva-nota"
    with Store(ws.data_dir / "pesquisa.db") as store:
        store.save_document(NewDocument(url=url, canonical_url=canonical_url(url),
                                        id=document_id(url), source="demo-larepublica",
                                        title="Nueva nota", text="Texto nuevo sobre peculado."))
        store.save_annotations(store.get(document_id(url)), [], [])
        stale = sorted(store_indexed(ws))[0]
        store.mark([stale], FAILED, "annotation failed: after a reprocess")
    assert "1 indexed" in ws.cli("process", check=True).stdout  # into SQLite
    switched = Workspace(ws.data_dir, ws.sources_dir,
                         ws.env | {"PESQUISA_INDEX_BACKEND": "elasticsearch"})
    sqlite_index, es_index = both(ws)
    try:
        assert es_index.count() == len(store_indexed(ws))  # even, yet one is missing
        assert document_id(url) not in set(es_index.ids())
    finally:
        sqlite_index.close()
        es_index.close()
    switched.cli("process", check=True)
    found = json.loads(switched.cli("search", "peculado", "--json", check=True).stdout)
    assert document_id(url) in {hit["id"] for hit in found["hits"]}
    assert store_indexed(ws) <= es_client_ids(es_client, es_prefix)


def es_client_ids(client: Elasticsearch, alias: str) -> set[str]:
    found = client.search(index=alias, size=1000, source=False, query={"match_all": {}})
    return {hit["_id"] for hit in found["hits"]["hits"]}
