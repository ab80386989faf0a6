"""The Elasticsearch backend against a real node: versioned index and alias, the query language
compiled to the DSL, clusters, facets, rebuild with an alias swap, and its coded errors."""

from __future__ import annotations

import random
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from indexer import analysis
from indexer.backends.elasticsearch import ElasticsearchIndex, client_options
from indexer.backends.es_mapping import MAPPING_VERSION, is_versioned, mappings
from indexer.backends.es_query import compile_query
from indexer.base import Bucket, IndexDocument, IndexEntity
from indexer.plan import Terms
from indexer.query import MAX_DEPTH
from pesquisa.errors import FixInput, NotFound, PesquisaError, RetryLater
from pesquisa.settings import Settings
from tests.es_node import Outage, delete_indexes

DINA = IndexEntity("official:dina-boluarte", "Dina Boluarte", "official",
                   ("Boluarte", "la presidenta"))
DINA_PLAIN = IndexEntity("official:dina-boluarte", "Dina Boluarte", "official")
MP = IndexEntity("institution:ministerio-publico", "Ministerio Público", "institution")
PULPOS = IndexEntity("crime_group:los-pulpos", "Los Pulpos", "crime_group")
TRUJILLO = IndexEntity("place:trujillo", "Trujillo", "place")
PATAZ = IndexEntity("place:pataz", "Pataz", "place")

DOCS = [
    IndexDocument("d1", "https://rpp.pe/1", "rpp", "Fiscalía denuncia corrupción en Provías",
                  "El Ministerio Público investiga colusión y lavado de activos en obras viales.",
                  "2026-09-10T10:00:00-05:00", "es", (DINA, MP), ("corrupcion", "lavado_activos")),
    IndexDocument("d2", "https://elcomercio.pe/2", "elcomercio", "Extorsión en Trujillo",
                  "La banda Los Pulpos cobra cupos a transportistas; la corrupción policial "
                  "agrava el problema.", "2026-10-01T08:00:00-05:00", "es", (PULPOS, TRUJILLO),
                  ("extorsion", "corrupcion")),
    IndexDocument("d3", "https://larepublica.pe/3", "larepublica", "Minería ilegal en Pataz",
                  "Sicarios atacan un socavón. Texto con <script>alert(1)</script> incrustado.",
                  "2026-11-05T19:30:00-05:00", "es", (PATAZ,), ("mineria_ilegal",)),
    IndexDocument("d4", "https://rpp.pe/4", "rpp", "Congreso debate ley",
                  "El pleno discute cambios a la ley contra el crimen organizado y el "
                  "lavado de dinero.", None),
    IndexDocument("d5", "https://rpp.pe/5", "rpp", "Provías: la fiscalía amplía la denuncia",
                  "Nuevas pruebas de lavado y de activos ocultos en Provías.",
                  "2026-09-11T09:00:00-05:00", "es", (DINA_PLAIN,), ("corrupcion",)),
    IndexDocument("d6", "https://gestion.pe/6", "gestion", "Lavado en la región",
                  "Activos congelados por orden judicial.", "2026-11-20T12:00:00-05:00"),
]


def ids_of(docs: Iterable[IndexDocument]) -> set[str]:
    return {doc.id for doc in docs}


@pytest.fixture
def settings(es_url: str) -> Settings:
    return Settings(index_backend="elasticsearch", index_url=es_url)


@pytest.fixture
def fresh(settings: Settings, es_prefix: str) -> Iterator[ElasticsearchIndex]:
    """An empty index behind a unique alias (its indexes are deleted after the test)."""
    index = ElasticsearchIndex(settings, alias=es_prefix)
    yield index
    index.close()


@pytest.fixture
def index(fresh: ElasticsearchIndex) -> ElasticsearchIndex:
    fresh.upsert(DOCS)
    return fresh


@pytest.fixture(scope="module")
def shared(es_url: str, es_client: Elasticsearch) -> Iterator[ElasticsearchIndex]:
    """DOCS indexed once for the tests that only search."""
    alias = f"test-{uuid.uuid4().hex[:12]}"
    index = ElasticsearchIndex(Settings(index_url=es_url), alias=alias)
    try:
        index.upsert(DOCS)
        yield index
    finally:
        index.close()
        delete_indexes(es_client, alias)


def found(index: ElasticsearchIndex, query: str, **kw: object) -> set[str]:
    return {hit.id for hit in index.search(query, limit=100, **kw).hits}  # type: ignore[arg-type]


def indexes_behind(client: Elasticsearch, alias: str) -> list[str]:
    return sorted(client.indices.get_alias(name=alias).body)


def versioned(client: Elasticsearch, alias: str) -> list[str]:
    names = client.indices.get(index=f"{alias}-v*", expand_wildcards="all").body
    return sorted(name for name in names if is_versioned(alias, name))


# -- the index, its alias and mapping -------------------------------------------------------


def test_new_index_is_versioned_behind_the_alias(
        settings: Settings, es_prefix: str, es_client: Elasticsearch) -> None:
    first = ElasticsearchIndex(settings, alias=es_prefix)
    assert first.needs_reindex is True
    [name] = indexes_behind(es_client, es_prefix)
    assert re.fullmatch(rf"{es_prefix}-v{MAPPING_VERSION}-\d{{14}}", name)
    mapping = es_client.indices.get_mapping(index=name)[name]["mappings"]
    assert mapping["_meta"] == {"pesquisa_mapping": MAPPING_VERSION}
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["text_s"]["analyzer"] == "whitespace"
    index_settings = es_client.indices.get_settings(index=name)[name]["settings"]["index"]
    assert index_settings["number_of_shards"] == "1"
    assert index_settings["max_result_window"] == "10000"

    again = ElasticsearchIndex(settings, alias=es_prefix, create=False)
    assert again.needs_reindex is False
    assert indexes_behind(es_client, es_prefix) == [name]
    assert again.name == "elasticsearch"


def test_shards_and_replicas_come_from_the_settings(
        es_url: str, es_prefix: str, es_client: Elasticsearch) -> None:
    settings = Settings(index_url=es_url, elasticsearch={"shards": 2, "replicas": 0})
    ElasticsearchIndex(settings, alias=es_prefix)
    [name] = indexes_behind(es_client, es_prefix)
    got = es_client.indices.get_settings(index=name)[name]["settings"]["index"]
    assert (got["number_of_shards"], got["number_of_replicas"]) == ("2", "0")


def test_clusters_split_between_shards_count_once(
        es_url: str, es_prefix: str, es_client: Elasticsearch) -> None:
    index = ElasticsearchIndex(Settings(index_url=es_url, elasticsearch={"shards": 2}),
                               alias=es_prefix)
    docs = [IndexDocument(f"p{i:03d}", "u", "src", "Nota", "soborno", None,
                          cluster=f"p{i - i % 2:03d}") for i in range(300)]
    index.upsert(docs)
    on_first = es_client.search(index=es_prefix, size=0, preference="_shards:0", aggs={
        "clusters": {"terms": {"field": "cluster", "size": 300}}})
    split = [b for b in on_first["aggregations"]["clusters"]["buckets"] if b["doc_count"] == 1]
    assert split  # some pairs have one member on each shard
    result = index.search("soborno", limit=200)
    assert result.total == 150 and len(result.hits) == 150
    assert all(hit.duplicates == 1 for hit in result.hits)
    index.close()


def test_source_keeps_display_fields_only(shared: ElasticsearchIndex) -> None:
    body = shared.client.get(index=shared.alias, id="d1")["_source"]
    assert body["title"] == DOCS[0].title and body["text"] == DOCS[0].text
    assert body["published"] == DOCS[0].published and body["day"] == "2026-09-10"
    hidden = {"title_s", "text_s", "title_f", "text_f", "entity", "kind", "crime", "facet",
              "crime_facet", "published_at", "source_key"}
    assert not hidden & set(body)
    # ...while the analyzed streams are what the node indexed: our stems, split on spaces.
    def title_has(token: str) -> bool:
        query = {"term": {"title_s": token}}
        return bool(shared.client.count(index=shared.alias, query=query)["count"])

    assert all(title_has(stem) for stem in analysis.stems(DOCS[0].title))
    assert not title_has("fiscalía") and not title_has("Fiscalía")


def test_processes_starting_at_once_settle_on_one_index(
        settings: Settings, es_prefix: str, es_client: Elasticsearch) -> None:
    barrier = threading.Barrier(4)

    def start() -> ElasticsearchIndex:
        barrier.wait()
        return ElasticsearchIndex(settings, alias=es_prefix)

    with ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _: start(), range(4)))
    [kept] = indexes_behind(es_client, es_prefix)
    assert versioned(es_client, es_prefix) == [kept]
    opened[0].upsert(DOCS[:1])
    assert all(index.count() == 1 for index in opened)


def test_missing_alias_without_create_is_not_found(settings: Settings, es_prefix: str) -> None:
    with pytest.raises(NotFound) as caught:
        ElasticsearchIndex(settings, alias=es_prefix, create=False)
    assert caught.value.code == "E505"
    assert f"{settings.index_url} index {es_prefix}" in caught.value.message


def test_an_index_named_like_the_alias_is_refused(
        settings: Settings, es_prefix: str, es_client: Elasticsearch) -> None:
    es_client.indices.create(index=es_prefix)
    with pytest.raises(FixInput) as caught:
        ElasticsearchIndex(settings, alias=es_prefix)
    assert caught.value.code == "E503" and "not an alias" in caught.value.message


def test_another_mapping_version_needs_a_reindex(
        settings: Settings, es_prefix: str, es_client: Elasticsearch) -> None:
    old = f"{es_prefix}-v0-20200101000000"
    es_client.indices.create(index=old, mappings={"_meta": {"pesquisa_mapping": 0},
                                                  "properties": {"title": {"type": "text"}}},
                             aliases={es_prefix: {}})
    index = ElasticsearchIndex(settings, alias=es_prefix, create=False)
    assert index.needs_reindex is False
    for attempt in (lambda: index.search("lavado"), lambda: index.upsert(DOCS[:1])):
        with pytest.raises(FixInput) as caught:
            attempt()
        assert caught.value.code == "E506"
        assert old in caught.value.message and "mapping 0" in caught.value.message
    # rebuild still works, and then everything does
    assert index.rebuild([DOCS]) == len(DOCS)
    assert found(index, "lavado") == {"d1", "d4", "d5", "d6"}
    assert old not in versioned(es_client, es_prefix)


# -- writes ---------------------------------------------------------------------------------


def test_upsert_twice_keeps_one(fresh: ElasticsearchIndex) -> None:
    fresh.upsert(DOCS[:1])
    changed = IndexDocument("d1", "https://rpp.pe/1", "rpp", "Título nuevo", "Texto nuevo",
                            DOCS[0].published)
    fresh.upsert([changed])
    assert fresh.count() == 1
    assert found(fresh, "nuevo") == {"d1"}
    assert found(fresh, "provías") == set()


def unmappable(doc_id: str, kinds: int = 1100) -> IndexDocument:
    """A document Elasticsearch refuses for good: each entity kind is a facet field, and
    this many pass the index's limit of 1000 fields (document_parsing_exception, 400)."""
    entities = tuple(IndexEntity(f"x:{n}", f"Nombre {n}", f"kind_{n}") for n in range(kinds))
    return IndexDocument(doc_id, "https://rpp.pe/x", "rpp", "Lavado raro", "Lavado de activos.",
                         "2026-09-12T10:00:00-05:00", "es", entities, ("lavado_activos",))


def test_a_refused_document_is_returned_and_the_others_indexed(
        fresh: ElasticsearchIndex) -> None:
    refused = fresh.upsert([*DOCS[:3], unmappable("bad"), *DOCS[3:]])
    assert list(refused) == ["bad"]
    assert "Limit of total fields" in refused["bad"] and "\n" not in refused["bad"]
    assert sorted(fresh.ids()) == sorted(ids_of(DOCS))
    assert found(fresh, "lavado") == {"d1", "d4", "d5", "d6"}
    assert found(fresh, "raro") == set() and found(fresh, 'entity:"Nombre 7"') == set()
    # its kinds got no facet field, so searches ask for no aggregation over them
    facets = fresh.search("*", facets=True).facets
    assert facets is not None and set(facets.entities) == {"official", "institution",
                                                           "crime_group", "place"}
    assert fresh.upsert(DOCS[:1]) == {}


def test_a_refused_new_version_removes_the_old_one(index: ElasticsearchIndex) -> None:
    """The store marks a refused document failed: its older version must not stay found."""
    assert "d1" in found(index, "*")
    refused = index.upsert([unmappable("d1")])
    assert list(refused) == ["d1"]
    assert "d1" not in found(index, "*") and index.count() == len(DOCS) - 1


def test_a_write_block_is_retry_later_not_a_refusal(
        index: ElasticsearchIndex, es_client: Elasticsearch) -> None:
    """An operator's write block fails every item with 403: nothing is refused for good."""
    [name] = indexes_behind(es_client, index.alias)
    es_client.indices.put_settings(index=name, settings={"index.blocks.write": True})
    try:
        with pytest.raises(RetryLater) as caught:
            index.upsert([unmappable("bad"), DOCS[0]])
        assert caught.value.code == "E504" and "cluster_block_exception" in caught.value.message
    finally:
        es_client.indices.put_settings(index=name, settings={"index.blocks.write": None})
    assert index.upsert(DOCS[:1]) == {}


def test_delete_count_and_ids(index: ElasticsearchIndex) -> None:
    assert index.count() == len(DOCS)
    assert sorted(index.ids()) == sorted(ids_of(DOCS))
    index.delete(["d2", "no-such-doc"])
    assert index.count() == len(DOCS) - 1
    assert "d2" not in set(index.ids())
    assert found(index, "pulpos") == set()


def test_dates_are_read_as_python_reads_them(fresh: ElasticsearchIndex) -> None:
    """What datetime.fromisoformat accepts has a day and sorts (as in the SQLite backend);
    what it does not is no date, and does not refuse the document."""
    fresh.upsert([
        IndexDocument("x1", "u", "rpp", "Soborno", "uno", "ayer por la tarde"),
        IndexDocument("x2", "u", "rpp", "Soborno", "dos", "2026-03-01 23:00:00"),  # UTC
        IndexDocument("x3", "u", "rpp", "Soborno", "tres", "20260302"),
        IndexDocument("x4", "u", "rpp", "Soborno", "cuatro", "2026-03-01T19:00:00-05:00"),
    ])
    assert found(fresh, "soborno") == {"x1", "x2", "x3", "x4"}
    assert found(fresh, "published:2026-03-01") == {"x2", "x4"}
    assert found(fresh, "published:2026-03-02") == {"x3"}
    assert found(fresh, "NOT published:[2000 TO 2100]") == {"x1"}
    assert [h.id for h in fresh.search("soborno", sort="date").hits] == ["x3", "x4", "x2", "x1"]


# -- the query language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lavados", {"d1", "d4", "d5", "d6"}),          # stems: lavados ~ lavado
        ("lavad*", {"d1", "d4", "d5", "d6"}),           # prefix on unstemmed words
        ("lavado*", {"d1", "d4", "d5", "d6"}),
        ("corrupcion", {"d1", "d2"}),                   # accents folded
        ("CORRUPCIÓN", {"d1", "d2"}),
        ("fiscalia", {"d1", "d5"}),
        ("corrupción AND pulpos", {"d2"}),
        ("corrupción pulpos", {"d2"}),                  # implicit AND
        ("pulpos OR pataz", {"d2", "d3"}),
        ("corrupción NOT pulpos", {"d1"}),
        ("corrupción -pulpos", {"d1"}),
        ("NOT lavado", {"d2", "d3"}),                   # purely negative
        ("*", {"d1", "d2", "d3", "d4", "d5", "d6"}),
        ('"lavado de activos"', {"d1"}),                # exact phrase, stop word kept
        ('"lavado activos"', set()),
        ('"lavado activos"~1', {"d1"}),                 # one word between
        ('"activos lavado"~1', {"d1"}),                 # any order
        ('"lavado activos"~3', {"d1", "d5"}),           # d5: "lavado y de activos"
        ('"lavado activos"~10', {"d1", "d5"}),          # d6: not across title and text
        ("lavado AND activos", {"d1", "d5", "d6"}),
        ("title:lavado", {"d6"}),
        ("text:lavado", {"d1", "d4", "d5"}),
        ("title:corrupción", {"d1"}),
        ("text:corrupción", {"d2"}),
        ("title:(provías OR pataz)", {"d1", "d3", "d5"}),
        ("source:rpp", {"d1", "d4", "d5"}),
        ("source:RPP", {"d1", "d4", "d5"}),
        ("source:el*", {"d2"}),
        ('entity:"official:dina-boluarte"', {"d1", "d5"}),  # by id
        ("entity:official:dina-boluarte", {"d1", "d5"}),
        ('entity:"Dina Boluarte"', {"d1", "d5"}),           # by canonical name
        ('entity:"la presidenta"', {"d1"}),                 # by a name seen in that document
        ("entity:boluarte", {"d1"}),
        ("entity:dina*", {"d1", "d5"}),
        ('entity:"ministerio publico"', {"d1"}),
        ("kind:crime_group", {"d2"}),
        ("kind:place", {"d2", "d3"}),
        ("crime:extorsion", {"d2"}),
        ('crime:"lavado activos"', {"d1"}),
        ("crime:corrupcion AND NOT source:elcomercio", {"d1", "d5"}),
        ("published:[2026-09-01 TO 2026-10-01]", {"d1", "d2", "d5"}),  # inclusive days
        ("published:{2026-09-10 TO 2026-10-01}", {"d5"}),              # exclusive ends
        ("published:2026-11", {"d3", "d6"}),
        ("published:>=2026-10-01", {"d2", "d3", "d6"}),
        ("published:[* TO 2026-09-10]", {"d1"}),
        ("NOT published:[2026-01-01 TO 2026-12-31]", {"d4"}),      # undated
        ("(lavado OR extorsión) AND source:elcomercio", {"d2"}),
        ("lav* AND NOT title:lavado", {"d1", "d4", "d5"}),
        ("source:rpp AND NOT crime:corrupcion", {"d4"}),
    ],
)
def test_query_language(shared: ElasticsearchIndex, query: str, expected: set[str]) -> None:
    assert found(shared, query) == expected


def test_ids_restrict_the_search(shared: ElasticsearchIndex) -> None:
    assert found(shared, "lavado", ids=["d1", "d2", "d6"]) == {"d1", "d6"}
    assert found(shared, "*", ids=[]) == set()


def test_malformed_and_unsupported_queries(shared: ElasticsearchIndex) -> None:
    for query, code in [("(lavado", "E501"), ("foo:bar", "E502"), ("lav~2", "E502")]:
        with pytest.raises(FixInput) as caught:
            shared.search(query)
        assert caught.value.code == code


def test_deep_queries_are_flattened_or_refused(shared: ElasticsearchIndex) -> None:
    assert found(shared, "NOT " * 101 + "pulpos") == found(shared, "NOT pulpos")
    assert found(shared, "NOT " * 100 + "pulpos") == {"d2"}
    nested_and = "pulpos"
    for _ in range(MAX_DEPTH):
        nested_and = f"(corrupción AND {nested_and})"
    assert found(shared, nested_and) == {"d2"}  # one AND of 25 parts
    alternating = "pulpos"
    for level in range(MAX_DEPTH - 1):  # as deep as the language allows: ES takes it
        alternating = f"(w{level} {('AND', 'OR')[level % 2]} {alternating})"
    assert found(shared, alternating) == set()
    with pytest.raises(FixInput) as caught:
        shared.search(f"({alternating} OR x)")
    assert caught.value.code == "E502" and "nested" in caught.value.message


@pytest.mark.parametrize("kw", [
    {"limit": -1}, {"limit": 1001}, {"offset": -1}, {"offset": 9990, "limit": 20},
    {"facet_size": 0}, {"facet_size": 1001}, {"interval": "year"}, {"sort": "title"},
])
def test_paging_arguments_are_checked(shared: ElasticsearchIndex, kw: dict[str, object]) -> None:
    with pytest.raises(FixInput) as caught:
        shared.search("lavado", **kw)  # type: ignore[arg-type]
    assert caught.value.code == "E502"


def _fts5_near(db: sqlite3.Connection, node: Terms) -> set[str]:
    inner = " ".join(f'"{t}"' for t in node.tokens)
    expr = f'"{" ".join(node.tokens)}"' if node.slop is None else f"NEAR({inner}, {node.slop})"
    if node.field != "all":
        expr = f"{node.field} : ({expr})"
    return {row[0] for row in db.execute("SELECT id FROM f WHERE f MATCH ?", (expr,))}


def test_phrases_and_proximity_select_what_fts5_selects(fresh: ElasticsearchIndex) -> None:
    """FTS5 is the reference for NEAR: random short documents over five words, random phrases
    and NEAR groups of 2-4 words (repeats included), in one field or either."""
    rnd = random.Random(5)
    vocabulary = ["sol", "mar", "pan", "luz", "red"]
    assert [analysis.stem(w) for w in vocabulary] == vocabulary  # their own stems
    docs = [IndexDocument(f"r{i}", "u", "s",
                          " ".join(rnd.choices(vocabulary, k=rnd.randint(0, 4))),
                          " ".join(rnd.choices([*vocabulary, "x", "y"], k=rnd.randint(0, 12))),
                          None) for i in range(300)]
    fresh.upsert(docs)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(id UNINDEXED, title, text)")
    db.executemany("INSERT INTO f VALUES (?, ?, ?)", [(d.id, d.title, d.text) for d in docs])
    checked = 0
    for _ in range(150):
        tokens = tuple(rnd.choices(vocabulary, k=rnd.randint(2, 4)))
        node = Terms(rnd.choice(["all", "title", "text"]), tokens,
                     rnd.choice([None, rnd.randint(0, 5)]))
        body = fresh.client.search(index=fresh.alias, query=compile_query(node), size=1000)
        assert {hit["_id"] for hit in body["hits"]["hits"]} == _fts5_near(db, node), node
        checked += 1
    assert checked == 150


# -- results: clusters, order, pages, snippets ----------------------------------------------

CLUSTERED = [
    IndexDocument("c1", "u1", "rpp", "Soborno en la aduana", "Un soborno.",
                  "2026-03-01T10:00:00-05:00"),
    IndexDocument("c2", "u2", "gestion", "Soborno en la aduana del Callao", "Otro soborno.",
                  "2026-03-02T10:00:00-05:00", cluster="c1"),
    IndexDocument("c3", "u3", "correo", "Aduana del Callao", "Nada que ver.",
                  "2026-03-03T10:00:00-05:00", cluster="c1"),
    IndexDocument("c4", "u4", "rpp", "Otro soborno", "Soborno en un ministerio.", None),
    IndexDocument("c5", "u5", "rpp", "Soborno", "Soborno soborno soborno.",
                  "2026-02-01T10:00:00-05:00"),
]


def test_near_duplicates_are_collapsed(fresh: ElasticsearchIndex) -> None:
    fresh.upsert(CLUSTERED)
    result = fresh.search("soborno", sort="date", facets=True)
    assert result.total == 3  # clusters: c1 (c1, c2 match; c3 does not), c4, c5
    assert [(h.id, h.duplicates) for h in result.hits] == [("c2", 1), ("c5", 0), ("c4", 0)]
    assert result.facets is not None
    assert sum(b.count for b in result.facets.source) == 4  # documents, before the collapse
    everything = fresh.search("*")
    assert everything.total == 3
    assert {h.id: h.duplicates for h in everything.hits}["c3"] == 2  # latest of three


def test_cluster_totals_are_exact_past_what_one_shard_lists(
        fresh: ElasticsearchIndex, es_client: Elasticsearch) -> None:
    """More matching clusters than the terms aggregation lists per shard (size 10,000: 15,010):
    the singletons it leaves out do not turn the total into an estimate (the cardinality
    aggregation gives 15,186 here), nor cost a second request."""
    size = 15_200
    docs = [IndexDocument(f"d{i:06d}", "u", "src", "Nota", "soborno",
                          "2026-01-05T10:00:00-05:00",
                          cluster=f"d{i - 1:06d}" if i % 1000 == 1 else "")
            for i in range(size)]
    pairs = sum(1 for i in range(size) if i % 1000 == 1)  # 16 clusters of two
    assert fresh.rebuild([docs[i:i + 2000] for i in range(0, size, 2000)]) == size

    def searches() -> int:
        stats = es_client.indices.stats(index=fresh.alias, metric="search")
        return int(stats["_all"]["primaries"]["search"]["query_total"])

    for query in ("soborno", "*", "published:2026-01-05"):
        before = searches()
        assert fresh.search(query, limit=0).total == size - pairs, query
        assert searches() - before == 1, query
    page = fresh.search("*", limit=3, sort="date")
    assert page.total == size - pairs
    assert [(h.id, h.duplicates) for h in page.hits] == [
        ("d000000", 1), ("d000002", 0), ("d000003", 0)]


def test_sort_by_date_and_by_relevance(fresh: ElasticsearchIndex) -> None:
    fresh.upsert(CLUSTERED)
    by_date = fresh.search("soborno", sort="date")
    published = [h.published for h in by_date.hits]
    assert published == ["2026-03-02T10:00:00-05:00", "2026-02-01T10:00:00-05:00", None]
    assert all(h.score is None for h in by_date.hits)
    by_score = fresh.search("soborno")
    scores = [h.score for h in by_score.hits]
    assert None not in scores and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert by_score.hits[0].id == "c5"  # four times, in its title too
    # without a text term, "relevance" means newest first
    assert [h.id for h in fresh.search("source:rpp").hits] == ["c1", "c5", "c4"]


def test_pages(fresh: ElasticsearchIndex) -> None:
    fresh.upsert(CLUSTERED)
    whole = [h.id for h in fresh.search("*", limit=10).hits]
    pages = [h.id for offset in range(3) for h in fresh.search("*", limit=1, offset=offset).hits]
    assert pages == whole and len(whole) == 3
    empty = fresh.search("*", limit=0)
    assert empty.hits == [] and empty.total == 3
    assert fresh.search("*", offset=3).hits == []


def test_snippets_are_escaped_and_marked(shared: ElasticsearchIndex) -> None:
    [hit] = shared.search("sicarios").hits
    assert "<mark>Sicarios</mark>" in hit.snippet
    assert "&lt;script&gt;" in hit.snippet and "<script>" not in hit.snippet
    [phrase] = shared.search('"lavado de activos"').hits
    assert "<mark>lavado</mark> de <mark>activos</mark>" in phrase.snippet


# -- facets ---------------------------------------------------------------------------------


def _top(counts: Counter[str], size: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]


def _expected_facets(docs: Sequence[IndexDocument], size: int) -> dict[str, object]:
    kinds: dict[str, Counter[str]] = {}
    names: dict[str, str] = {}
    for doc in docs:
        for ent in {e.id: e for e in doc.entities}.values():
            kinds.setdefault(ent.kind, Counter())[ent.id] += 1
            names[ent.id] = ent.name
    return {
        "source": _top(Counter(d.source for d in docs), size),
        "crime": _top(Counter(c for d in docs for c in set(d.crime_types)), size),
        "entities": {kind: [(v, c, names[v]) for v, c in _top(counts, size)]
                     for kind, counts in kinds.items()},
    }


@pytest.mark.parametrize(("query", "size"), [("*", 10), ("*", 1), ("corrupción OR lavado", 2),
                                             ("source:rpp", 10)])
def test_facets_count_matching_documents(
        shared: ElasticsearchIndex, query: str, size: int) -> None:
    result = shared.search(query, facets=True, facet_size=size)
    matching = [d for d in DOCS if d.id in found(shared, query)]  # no clusters in DOCS
    expected = _expected_facets(matching, size)
    assert result.facets is not None
    assert [(b.value, b.count) for b in result.facets.source] == expected["source"]
    assert [(b.value, b.count) for b in result.facets.crime] == expected["crime"]
    got = {kind: [(b.value, b.count, b.label) for b in buckets]
           for kind, buckets in result.facets.entities.items()}
    assert got == expected["entities"]


def test_date_histogram_fills_gaps(shared: ElasticsearchIndex) -> None:
    days = sorted(date.fromisoformat(d.day) for d in DOCS if d.day)
    for interval, step in [("week", 7), ("day", 1)]:
        facets = shared.search("*", facets=True, interval=interval).facets  # type: ignore[arg-type]
        assert facets is not None and facets.interval == interval
        buckets = facets.published
        starts = [date.fromisoformat(b.value) for b in buckets]
        first = days[0] - timedelta(days=days[0].weekday() if interval == "week" else 0)
        assert starts[0] == first and all(s.weekday() == 0 for s in starts if step == 7)
        assert all((b - a).days == step for a, b in pairwise(starts))
        assert sum(b.count for b in buckets) == len(days)
        assert 0 in {b.count for b in buckets}
    months = shared.search("*", facets=True, interval="month").facets
    assert months is not None
    assert months.published == [Bucket("2026-09-01", 2), Bucket("2026-10-01", 1),
                                Bucket("2026-11-01", 2)]


def test_entity_kinds_without_buckets_are_left_out(shared: ElasticsearchIndex) -> None:
    facets = shared.search("pataz", facets=True).facets
    assert facets is not None and set(facets.entities) == {"place"}


# -- rebuild --------------------------------------------------------------------------------


def test_rebuild_swaps_the_alias_and_deletes_old_indexes(
        index: ElasticsearchIndex, es_client: Elasticsearch) -> None:
    [before] = indexes_behind(es_client, index.alias)
    replacement = [*DOCS[1:], IndexDocument("n1", "u", "rpp", "Peculado en Pataz", "Peculado.",
                                            "2026-12-01T10:00:00-05:00")]
    seen_midway: list[set[str]] = []

    def batches() -> Iterator[Sequence[IndexDocument]]:
        yield replacement[:3]
        # the new index is being filled: searches still answer from the old one
        seen_midway.append(found(index, "peculado OR provías"))
        assert indexes_behind(es_client, index.alias) == [before]
        yield replacement[3:]

    assert index.rebuild(batches()) == len(replacement)
    assert seen_midway == [{"d1", "d5"}]
    [after] = indexes_behind(es_client, index.alias)
    assert after != before and versioned(es_client, index.alias) == [after]
    assert found(index, "peculado OR provías") == {"n1", "d5"}
    assert index.count() == len(replacement)
    got = es_client.indices.get_settings(index=after)[after]["settings"]["index"]
    assert got["refresh_interval"] == "1s"
    index.upsert(DOCS[:1])  # writes go to the new index
    assert index.count() == len(replacement) + 1


def test_rebuild_reads_the_batches_in_the_calling_thread(fresh: ElasticsearchIndex) -> None:
    """Many chunks are sent from worker threads, but the batches (a store cursor, in
    `pesquisa reindex`) are read where rebuild was called."""
    readers: set[int] = set()

    def batches() -> Iterator[Sequence[IndexDocument]]:
        for start in range(0, 1300, 100):
            readers.add(threading.get_ident())
            yield [IndexDocument(f"m{i}", "u", "rpp", f"Nota {i}", "cohecho" if i % 2 else "x",
                                 None) for i in range(start, start + 100)]

    assert fresh.rebuild(batches()) == 1300
    assert readers == {threading.get_ident()}
    assert fresh.search("cohecho", limit=0).total == 650


def test_a_failed_rebuild_keeps_the_old_index(
        index: ElasticsearchIndex, es_client: Elasticsearch) -> None:
    [before] = indexes_behind(es_client, index.alias)

    def batches() -> Iterator[Sequence[IndexDocument]]:
        yield DOCS[:2]
        raise OSError("the store went away")

    with pytest.raises(RetryLater) as caught:
        index.rebuild(batches())
    assert caught.value.code == "E508" and "the store went away" in caught.value.message
    assert indexes_behind(es_client, index.alias) == [before]
    assert versioned(es_client, index.alias) == [before]  # the unfinished one is gone
    assert found(index, "lavado") == {"d1", "d4", "d5", "d6"}


def test_a_refused_document_fails_a_rebuild(
        index: ElasticsearchIndex, es_client: Elasticsearch) -> None:
    [before] = indexes_behind(es_client, index.alias)
    with pytest.raises(RetryLater) as caught:
        index.rebuild([[*DOCS, unmappable("bad")]])
    assert caught.value.code == "E508" and "Limit of total fields" in caught.value.message
    assert versioned(es_client, index.alias) == [before]


# -- connection errors and client options ---------------------------------------------------


def test_unreachable_node_is_retry_later_quickly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(RetryLater) as caught:
        ElasticsearchIndex(Settings(index_url=url, elasticsearch={"timeout": 5}))
    assert time.monotonic() - started < 5
    assert caught.value.code == "E504" and url in caught.value.message
    assert "\n" not in caught.value.message


def test_a_node_gone_mid_use_is_retry_later(es_url: str, es_prefix: str) -> None:
    relay = Outage(es_url)
    index = ElasticsearchIndex(Settings(index_url=relay.url, elasticsearch={"timeout": 5}),
                               alias=es_prefix)
    index.upsert(DOCS)
    assert index.search("lavado", facets=True).total == 4
    relay.cut()
    started = time.monotonic()
    for use in (lambda: index.search("lavado", facets=True), index.count,
                lambda: list(index.ids()), lambda: index.upsert(DOCS[:1]),
                lambda: index.delete(["d1"]), lambda: index.rebuild([DOCS])):
        with pytest.raises(RetryLater) as caught:
            use()
        assert caught.value.code in ("E504", "E508"), caught.value.message
        assert relay.url in caught.value.message and "\n" not in caught.value.message
    assert time.monotonic() - started < 10
    relay.restore()
    index.close()


def test_a_request_the_node_refuses_is_one_line(index: ElasticsearchIndex,
                                                es_client: Elasticsearch) -> None:
    """A 400 for a search (here: an operator lowered the index's result window)."""
    [name] = indexes_behind(es_client, index.alias)
    es_client.indices.put_settings(index=name, settings={"index": {"max_result_window": 5}})
    with pytest.raises(FixInput) as caught:
        index.search("*", offset=10, limit=5)
    assert caught.value.code == "E502" and "Result window is too large" in caught.value.message
    assert "\n" not in caught.value.message
    assert index.search("*", limit=5).total == len(DOCS)


def test_a_failing_shard_is_an_error_not_a_partial_answer(
        index: ElasticsearchIndex, es_client: Elasticsearch) -> None:
    """A shard that fails (here: a foreign index someone put behind the alias, which cannot
    sort by date) must not leave a silently partial answer."""
    foreign = f"{index.alias}-foreign"
    es_client.indices.create(index=foreign, mappings={"properties": {"day": {"type": "keyword"}}})
    es_client.index(index=foreign, id="f1", document={"day": "x"}, refresh=True)
    es_client.indices.update_aliases(actions=[{"add": {"index": foreign, "alias": index.alias}}])
    try:
        with pytest.raises(PesquisaError) as caught:
            index.search("lavado", sort="date")
        assert caught.value.code in ("E502", "E504"), caught.value.message
        assert "\n" not in caught.value.message
    finally:
        es_client.indices.delete(index=foreign)
    assert found(index, "lavado") == {"d1", "d4", "d5", "d6"}


def test_tls_to_a_plain_node_is_a_certificate_error(es_url: str, es_prefix: str) -> None:
    url = es_url.replace("http://", "https://")
    with pytest.raises(FixInput) as caught:
        ElasticsearchIndex(Settings(index_url=url), alias=es_prefix)
    assert caught.value.code == "E507" and url in caught.value.message
    assert "\n" not in caught.value.message


def test_client_options_from_settings(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    basic = client_options(Settings(index_url="https://es.example:9200", elasticsearch={
        "username": "pesquisa", "password": "s3cret", "ca_certs": ca, "timeout": 12}))
    assert basic["hosts"] == ["https://es.example:9200"]
    assert basic["basic_auth"] == ("pesquisa", "s3cret") and "api_key" not in basic
    assert basic["ca_certs"] == str(ca) and basic["request_timeout"] == 12
    assert "verify_certs" not in basic  # verified by default
    keyed = client_options(Settings(elasticsearch={
        "api_key": "aWQ6a2V5", "username": "ignored", "verify_certs": False}))
    assert keyed["hosts"] == ["http://localhost:9200"]
    assert keyed["api_key"] == "aWQ6a2V5" and "basic_auth" not in keyed
    assert keyed["verify_certs"] is False
    plain = client_options(Settings())
    assert not {"api_key", "basic_auth", "ca_certs"} & set(plain)


def test_tls_options_with_an_http_url_are_a_settings_error(tmp_path: Path) -> None:
    settings = Settings(index_url="http://127.0.0.1:9", elasticsearch={
        "ca_certs": tmp_path / "ca.pem"})
    with pytest.raises(FixInput) as caught:
        ElasticsearchIndex(settings)
    assert caught.value.code == "E103" and "https" in caught.value.message


def test_mapping_keeps_no_custom_analysis() -> None:
    """The test node lacks analysis-common: the mapping may use built-in analyzers only."""
    analyzers = {field.get("analyzer") for field in mappings()["properties"].values()}
    assert analyzers <= {None, "whitespace"}


def test_a_write_never_creates_an_index_where_the_alias_was(
    index: ElasticsearchIndex, es_client: Elasticsearch
) -> None:
    """A node that lost its data: the alias is gone, and a write must fail (the worker then
    reopens the index, which recreates it) rather than invent a plain index with a dynamic
    mapping under the alias's name."""
    for name in es_client.indices.get_alias(name=index.alias).body:
        es_client.indices.delete(index=name)
    with pytest.raises(RetryLater) as caught:
        index.upsert(DOCS[:1])
    assert caught.value.code == "E504"
    assert not es_client.indices.exists(index=index.alias)
