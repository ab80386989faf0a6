"""The SQLite FTS5 index: each construct of the query plan, facets, clusters, snippets, the
generation switch of `rebuild`, upgrades of older index files, and its errors."""

from __future__ import annotations

import itertools
import os
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from indexer import analysis
from indexer.backends import sqlite as sqlite_backend
from indexer.backends.sqlite import SCHEMA_VERSION, SqliteIndex
from indexer.base import MAX_FACET_SIZE, MAX_LIMIT, MAX_WINDOW, IndexDocument, IndexEntity
from indexer.plan import And, DateRange, Keyword, MatchAll, Node, Not, Or, Prefix, Terms
from indexer.query import plan
from pesquisa.errors import FixInput, NotFound, RetryLater

BOLUARTE = IndexEntity("official:dina-boluarte", "Dina Boluarte", "official",
                       ("Boluarte", "la presidenta"))
PROVIAS = IndexEntity("institution:provias", "Provías Nacional", "institution", ("Provías",))
PULPOS = IndexEntity("crime_group:los-pulpos", "Los Pulpos", "crime_group", ("Pulpos",))
TRUJILLO = IndexEntity("place:trujillo", "Trujillo", "place")
PATAZ = IndexEntity("place:pataz", "Pataz", "place")

DOCS = [
    IndexDocument(
        "d1", "https://rpp.pe/1", "rpp", "Fiscalía denuncia corrupción en Provías",
        "El Ministerio Público investiga colusión y lavado de activos en obras viales.",
        "2026-09-10T10:00:00-05:00", "es", (BOLUARTE, PROVIAS), ("colusion", "lavado_activos")),
    IndexDocument(
        "d2", "https://elcomercio.pe/2", "elcomercio", "Extorsión en Trujillo",
        "La banda Los Pulpos cobra cupos a transportistas; la corrupción policial agrava el "
        "problema.", "2026-10-01T08:00:00-05:00", "es", (PULPOS, TRUJILLO), ("extorsion",)),
    IndexDocument(
        "d3", "https://larepublica.pe/3", "larepublica", "Minería ilegal en Pataz",
        "Sicarios atacan un socavón. Texto con <script>alert(1)</script> incrustado.",
        "2026-11-05T19:30:00-05:00", "es", (PATAZ,), ("mineria_ilegal", "sicariato")),
    IndexDocument(
        "d4", "https://rpp.pe/4", "rpp", "Congreso debate ley",
        "El pleno discute cambios a la ley contra el crimen organizado y los lavados de dinero "
        "que denunció la presidenta.", None, "es",
        (IndexEntity(BOLUARTE.id, BOLUARTE.name, BOLUARTE.kind, ("la presidenta",)),),
        ("lavado_activos",)),
    # a reprint of d2 in another outlet: the same cluster
    IndexDocument(
        "d5", "https://trome.pe/5", "trome", "Extorsión en Trujillo: Los Pulpos",
        "La banda Los Pulpos cobra cupos a transportistas; la corrupción policial agrava el "
        "problema, dice la fiscal.", "2026-10-03T09:00:00-05:00", "es", (PULPOS, TRUJILLO),
        ("extorsion",), cluster="d2"),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteIndex]:
    ix = SqliteIndex(tmp_path / "index.sqlite")
    ix.upsert(DOCS)
    yield ix
    ix.close()


def ids(index: SqliteIndex, query: str, **kw: object) -> set[str]:
    """Every matching document, duplicates included (clusters expanded by `ids=`)."""
    found = index.search(query, limit=100, **kw)  # type: ignore[arg-type]
    return {hit.id for hit in found.hits}


def members(index: SqliteIndex, query: str) -> set[str]:
    """The documents a query matches, one at a time (no cluster collapses two of them)."""
    return {doc.id for doc in DOCS if index.search(query, ids=[doc.id]).total}


# --------------------------------------------------------------------------- constructs


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # stems: lavado, lavados, lavan are one word
        ("lavados", {"d1", "d4"}),
        ("lavado", {"d1", "d4"}),
        # accents, both ways, and case
        ("corrupcion", {"d1", "d2", "d5"}),
        ("CORRUPCIÓN", {"d1", "d2", "d5"}),
        ("fiscalia", {"d1"}),  # "fiscal" (d5) is another word
        ("socavón", {"d3"}),
        ("socavon", {"d3"}),
        # prefixes read the unstemmed words: "lavad*" is not cut to the stem "lav"
        ("lavad*", {"d1", "d4"}),
        ("lavados*", {"d4"}),
        ("provia*", {"d1"}),
        ("PROVÍA*", {"d1"}),
        ("la*", {"d1", "d2", "d4", "d5"}),  # "la", "lavado": any word starting so
        ("title:extor*", {"d2", "d5"}),
        ("text:extor*", set()),
        # booleans
        ("corrupción AND pulpos", {"d2", "d5"}),
        ("corrupción pulpos", {"d2", "d5"}),
        ("pulpos OR pataz", {"d2", "d3", "d5"}),
        ("corrupción NOT pulpos", {"d1"}),
        ("corrupción -pulpos", {"d1"}),
        ("(lavado OR sicarios) AND NOT congreso", {"d1", "d3"}),
        # bare stop words are dropped; kept in phrases
        ("lavado de activos", {"d1"}),
        ('"lavado de activos"', {"d1"}),
        ('"lavado activos"', set()),  # "de" stands between them
        ('"lavado con activos"', set()),
        ('"lavado de dinero"', {"d4"}),  # "lavados de dinero": the same stems
        ("de", {"d1", "d4"}),  # only stop words: searched after all
        # a phrase lies within one field: Trujillo ends the title, "La banda" opens the text
        ('"trujillo la banda"', set()),
        # NEAR: within N words, any order, one field only
        ('"lavado activos"~1', {"d1"}),
        ('"activos lavado"~1', {"d1"}),
        ('"lavado activos"~0', set()),
        ('"fiscalía provías"~3', {"d1"}),  # title: Fiscalía denuncia corrupción en Provías
        ('"provías fiscalía"~3', {"d1"}),
        ('"fiscalía provías"~2', set()),
        ('"extorsión cupos"~50', set()),  # extorsión in the title, cupos in the text
        ("extorsión cupos", {"d2", "d5"}),  # while AND spans the fields
        # fields
        ("title:corrupcion", {"d1"}),
        ("text:corrupcion", {"d2", "d5"}),
        ("title:(NOT corrupción)", {"d2", "d3", "d4", "d5"}),
        ('title:"minería ilegal"', {"d3"}),
        ('text:"minería ilegal"', set()),
        ('title:"pulpos extorsión"~5', {"d5"}),
        # keywords: source, entity (id, canonical name, a name it appears under), kind, crime
        ("source:rpp", {"d1", "d4"}),
        ("source:RPP", {"d1", "d4"}),
        ("source:rp*", {"d1", "d4"}),
        ("source:rpp AND lavado", {"d1", "d4"}),
        ("(source:rpp OR pataz) AND NOT congreso", {"d1", "d3"}),
        ('entity:"official:dina-boluarte"', {"d1", "d4"}),
        ("entity:official:dina-boluarte", {"d1", "d4"}),
        ('entity:"Dina Boluarte"', {"d1", "d4"}),
        ('entity:"dina boluarte"', {"d1", "d4"}),
        ("entity:boluarte", {"d1"}),  # d4 names her "la presidenta" only
        ('entity:"la presidenta"', {"d1", "d4"}),
        ('entity:"Provias Nacional"', {"d1"}),
        ("entity:provías", {"d1"}),
        ("entity:official:*", {"d1", "d4"}),
        ("entity:pulp*", {"d2", "d5"}),
        ("entity:lima", set()),
        ("kind:crime_group", {"d2", "d5"}),
        ("kind:place", {"d2", "d3", "d5"}),
        ("kind:place AND NOT kind:crime_group", {"d3"}),
        ("kind:organization", set()),
        ("crime:extorsion", {"d2", "d5"}),
        ("crime:lavado_activos", {"d1", "d4"}),
        ("crime:lavado-activos", {"d1", "d4"}),
        ("crime:lavado*", {"d1", "d4"}),
        ("crime:extorsion OR crime:sicariato", {"d2", "d3", "d5"}),
        # dates: inclusive days; a document without a date never matches a range ...
        ("published:[2026-09-10 TO 2026-10-01]", {"d1", "d2"}),
        ("published:{2026-09-10 TO 2026-10-03]", {"d2", "d5"}),
        ("published:2026-10", {"d2", "d5"}),
        ("published:>=2026-10-02", {"d3", "d5"}),
        ("published:[* TO *]", {"d1", "d2", "d3", "d5"}),
        ("published:[2026-09-10 TO 2026-10-01] OR source:trome", {"d1", "d2", "d5"}),
        # ... and always matches its negation
        ("NOT published:2026-10", {"d1", "d3", "d4"}),
        ("lavado AND NOT published:[* TO *]", {"d4"}),
        # purely negative queries: every document but those
        ("NOT corrupción", {"d3", "d4"}),
        ("-pulpos -pataz", {"d1", "d4"}),
        ("NOT source:rpp", {"d2", "d3", "d5"}),
        ("NOT (NOT pataz)", {"d3"}),
        ("*", {"d1", "d2", "d3", "d4", "d5"}),
        ("* AND NOT source:rpp", {"d2", "d3", "d5"}),
        ("pulpos OR NOT corrupción", {"d2", "d3", "d4", "d5"}),
        ("nadaqueencontrar", set()),
    ],
)
def test_each_construct_matches_what_it_says(
    index: SqliteIndex, query: str, expected: set[str]
) -> None:
    assert members(index, query) == expected
    clusters = {next(d.cluster or d.id for d in DOCS if d.id == i) for i in expected}
    assert index.search(query).total == len(clusters)


def test_ids_restrict_the_search(index: SqliteIndex) -> None:
    assert ids(index, "corrupción", ids=["d1", "d3", "nope"]) == {"d1"}
    assert ids(index, "*", ids=["d3", "d4"]) == {"d3", "d4"}
    assert index.search("*", ids=[]).total == 0
    assert index.search("NOT pataz", ids=["d3"]).total == 0


# --------------------------------------------------------------- the plan, against a model


def _model(node: Node, doc: IndexDocument) -> bool:
    """What a plan node means, evaluated naively over one document's analyzed fields."""
    if isinstance(node, Terms | Prefix):
        fields = {"title": [doc.title], "text": [doc.text], "all": [doc.title, doc.text]}
        for value in fields[node.field]:
            if isinstance(node, Prefix):
                if any(word.startswith(node.prefix) for word in analysis.folded(value)):
                    return True
                continue
            stems = analysis.stems(value)
            positions = [[i for i, s in enumerate(stems) if s == t] for t in node.tokens]
            for chosen in itertools.product(*positions):
                if node.slop is None and list(chosen) == list(
                        range(chosen[0], chosen[0] + len(chosen))):
                    return True
                if (node.slop is not None and len(set(chosen)) == len(chosen)
                        and max(chosen) - min(chosen) + 1 - len(chosen) <= node.slop):
                    return True
        return False
    if isinstance(node, Keyword):
        values = {
            "source": {analysis.keyword(doc.source)},
            "entity": {analysis.keyword(v) for e in doc.entities
                       for v in (e.id, e.name, *e.aliases)},
            "kind": {e.kind for e in doc.entities},
            "crime": set(doc.crime_types),
        }[node.field]
        if node.prefix:
            return any(v.startswith(node.value) for v in values)
        return node.value in values
    if isinstance(node, DateRange):
        return doc.day is not None and (node.start or "") <= doc.day <= (node.end or "9999")
    if isinstance(node, And):
        return all(_model(child, doc) for child in node.children)
    if isinstance(node, Or):
        return any(_model(child, doc) for child in node.children)
    if isinstance(node, Not):
        return not _model(node.child, doc)
    assert isinstance(node, MatchAll)
    return True


ATOMS = ["corrupción", "lavado", "pulpos", "title:trujillo", "text:banda", '"lavado de activos"',
         '"cupos transportistas"~2', '"corrupción policial"', "lav*", "text:prob*",
         "source:rpp", "source:trome", "entity:boluarte", 'entity:"los pulpos"', "kind:place",
         "crime:extorsion", "crime:lavado*", "published:[2026-09-01 TO 2026-10-02]",
         "published:2026-11", "*"]


def test_random_combinations_match_the_plan_semantics(index: SqliteIndex) -> None:
    rng = random.Random(5)
    for _ in range(150):
        a, b, c = rng.sample(ATOMS, 3)
        template = rng.choice(["{a} AND {b}", "{a} OR {b}", "{a} AND NOT {b}", "NOT {a}",
                               "({a} OR {b}) AND NOT {c}", "{a} OR ({b} AND NOT {c})",
                               "NOT ({a} OR {b}) AND {c}", "-{a} -{b}", "{a} {b} {c}"])
        query = template.format(a=a, b=b, c=c)
        tree = plan(query)
        expected = {doc.id for doc in DOCS if _model(tree, doc)}
        assert members(index, query) == expected, query
        for sort in ("relevance", "date"):
            got = index.search(query, limit=100, sort=sort)
            assert got.total == len({d.cluster or d.id for d in DOCS if d.id in expected})
            assert len(got.hits) == got.total


# ------------------------------------------------------------------ order, clusters, pages


def test_title_weighs_more_than_body(index: SqliteIndex) -> None:
    hits = index.search("corrupción").hits
    assert hits[0].id == "d1"  # the only one with it in the title
    assert hits[0].score is not None and hits[0].score > (hits[1].score or 0)


def test_sort_by_date_puts_undated_last(index: SqliteIndex) -> None:
    by_date = [h.id for h in index.search("*", sort="date").hits]
    assert by_date == ["d3", "d5", "d1", "d4"]  # d5 stands for its cluster (newer than d2)
    assert all(h.score is None for h in index.search("*").hits)
    # without text to rank by, relevance falls back to the date order
    assert [h.id for h in index.search("*").hits] == by_date
    assert [h.id for h in index.search("source:rpp").hits] == ["d1", "d4"]


def test_equal_dates_and_scores_fall_back_to_the_id_order(tmp_path: Path) -> None:
    ix = SqliteIndex(tmp_path / "i.sqlite")
    # ids that share long prefixes, and others that differ past their 8th byte only
    names = ["documento-10", "documento-2", "documento-1", "b", "ñandú-1", "ñandú-0", "a" * 20,
             "aaaaaaaa", "aaaaaaab", "zeta", "documento-9", "Z"]
    ix.upsert([IndexDocument(n, f"https://x.pe/{i}", "x", "t", "huaico", None)
               for i, n in enumerate(names)])
    assert [h.id for h in ix.search("*", limit=100).hits] == sorted(names)
    assert [h.id for h in ix.search("huaico", limit=100).hits] == sorted(names)  # equal scores
    assert [h.id for h in ix.search("huaico", limit=3, offset=3).hits] == sorted(names)[3:6]
    ix.close()


def test_text_matches_rank_before_filter_matches(index: SqliteIndex) -> None:
    hits = index.search("sicarios OR source:rpp").hits
    assert hits[0].id == "d3" and hits[0].score is not None
    assert {h.id for h in hits[1:]} == {"d1", "d4"}


def test_a_cluster_is_shown_once_and_counted_once(index: SqliteIndex) -> None:
    result = index.search("cupos")
    assert result.total == 1
    (hit,) = result.hits
    assert hit.duplicates == 1
    # the member that ranks best stands for the cluster (d2: the same words in a shorter text)
    scores = {i: index.search("cupos", ids=[i]).hits[0].score for i in ("d2", "d5")}
    assert hit.id == max(scores, key=lambda i: scores[i] or 0) == "d2"
    (newest,) = index.search("cupos", sort="date").hits
    assert (newest.id, newest.duplicates) == ("d5", 1)
    # a member that does not match is not counted as a duplicate
    (alone,) = index.search("fiscal AND cupos").hits
    assert (alone.id, alone.duplicates) == ("d5", 0)
    (d2,) = index.search("cupos", ids=["d2"]).hits
    assert (d2.id, d2.duplicates) == ("d2", 0)


def test_pages_have_no_gaps_or_repeats(tmp_path: Path) -> None:
    ix = SqliteIndex(tmp_path / "i.sqlite")
    docs = [IndexDocument(f"n{i:02d}", f"https://x.pe/{i}", "x", f"Nota {i}",
                          "lavado " * (i % 7 + 1), f"2026-01-{i % 28 + 1:02d}T10:00:00-05:00",
                          cluster=f"n{i - 1:02d}" if i % 5 == 1 else "")
            for i in range(40)]
    ix.upsert(docs)
    for sort in ("relevance", "date"):
        everything = ix.search("lavado", limit=100, sort=sort)
        assert everything.total == 40 - 8 == len(everything.hits)
        paged = [h.id for offset in range(0, 40, 7)
                 for h in ix.search("lavado", limit=7, offset=offset,
                                    sort=sort).hits]
        assert paged == [h.id for h in everything.hits]
    assert sum(h.duplicates for h in everything.hits) == 8
    assert ix.search("lavado", limit=0).hits == [] and ix.search("lavado", limit=0).total == 32
    assert ix.search("lavado", offset=500).hits == []
    ix.close()


def test_relevance_pages_are_exact_with_ties_clusters_and_filters(tmp_path: Path) -> None:
    """Pages by relevance read FTS5's best rows only, and read more when ties, clusters or a
    filter reach the last row read: every page must still be the slice of the full order."""
    ix = SqliteIndex(tmp_path / "i.sqlite")
    rng = random.Random(3)
    docs = []
    for i in range(400):
        # many identical texts (equal scores: the order falls to the id), some clusters
        text = "lavado " * (i % 3 + 1) + "relleno " * (i % 5 if i % 4 else 0)
        docs.append(IndexDocument(
            f"{rng.randrange(16**8):08x}-{i}", f"https://x.pe/{i}", "a" if i % 10 else "b",
            "Nota", text, None, cluster=f"c{i // 40}" if i % 7 == 0 else ""))
    for i in range(150):  # all alike: one score, more ties than FTS5 is first asked for
        docs.append(IndexDocument(
            f"{rng.randrange(16**8):08x}-h{i}", f"https://x.pe/h{i}", "a" if i % 10 else "b",
            "Nota", "huaico", None, cluster=f"h{i // 30}" if i % 3 == 0 else ""))
    ix.upsert(docs)
    for query in ("lavado", "lavado source:a", "lavado source:b", "lavado -source:b",
                  "lavado OR source:b", "lavado -relleno", "huaico", "huaico source:a"):
        full = ix.search(query, limit=MAX_LIMIT)
        order = [(-(h.score or 0.0), h.id) for h in full.hits]
        scored = [pair for pair in order if pair[0] != 0.0]
        assert scored == sorted(scored) and len(full.hits) == full.total
        for size in (1, 7, 20):
            paged = [h.id for offset in range(0, full.total, size)
                     for h in ix.search(query, limit=size, offset=offset).hits]
            assert paged == [h.id for h in full.hits], (query, size)
        # each cluster shows its best member, and counts the others that matched
        expected = ix.search(query, limit=MAX_LIMIT, ids=[d.id for d in docs if d.cluster])
        for hit in expected.hits:
            members = [d.id for d in docs if (d.cluster or d.id) == next(
                x.cluster or x.id for x in docs if x.id == hit.id)]
            alone = [ix.search(query, ids=[m]).hits for m in members]
            best = min((-(h[0].score or 0.0), h[0].id) for h in alone if h)
            assert (-(hit.score or 0.0), hit.id) == best
            assert hit.duplicates == sum(1 for h in alone if h) - 1
    reads: list[str] = []
    ix.db.set_trace_callback(reads.append)
    ix.search("huaico", limit=7, offset=70)
    ix.db.set_trace_callback(None)
    assert sum("LIMIT" in sql for sql in reads) > 1  # the ties made it read further
    ix.close()


# ----------------------------------------------------------------------------- facets


def test_facets_count_every_matching_document(index: SqliteIndex) -> None:
    result = index.search("*", facets=True)
    assert result.facets is not None
    data = result.to_json()["facets"]
    assert data["source"] == [{"value": "rpp", "count": 2}, {"value": "elcomercio", "count": 1},
                              {"value": "larepublica", "count": 1}, {"value": "trome",
                                                                     "count": 1}]
    assert data["entities"] == {
        "crime_group": [{"value": "crime_group:los-pulpos", "count": 2, "label": "Los Pulpos"}],
        "institution": [{"value": "institution:provias", "count": 1,
                         "label": "Provías Nacional"}],
        "official": [{"value": "official:dina-boluarte", "count": 2,
                      "label": "Dina Boluarte"}],
        "place": [{"value": "place:trujillo", "count": 2, "label": "Trujillo"},
                  {"value": "place:pataz", "count": 1, "label": "Pataz"}],
    }
    assert data["crime"] == [
        {"value": "extorsion", "count": 2}, {"value": "lavado_activos", "count": 2},
        {"value": "colusion", "count": 1}, {"value": "mineria_ilegal", "count": 1},
        {"value": "sicariato", "count": 1}]
    assert data["published"] == {"interval": "month", "buckets": [
        {"value": "2026-09-01", "count": 1}, {"value": "2026-10-01", "count": 2},
        {"value": "2026-11-01", "count": 1}]}  # d4 has no date


def test_facets_follow_the_query_and_the_size(index: SqliteIndex) -> None:
    result = index.search("corrupción", facets=True, facet_size=1)
    assert result.total == 2  # d2 and d5 are one cluster, but counted twice below
    assert result.facets is not None
    assert [(b.value, b.count) for b in result.facets.source] == [("elcomercio", 1)]
    assert {k: [(b.value, b.count) for b in v] for k, v in result.facets.entities.items()} == {
        "crime_group": [("crime_group:los-pulpos", 2)],
        "institution": [("institution:provias", 1)],
        "official": [("official:dina-boluarte", 1)],
        "place": [("place:trujillo", 2)],
    }
    assert [(b.value, b.count) for b in result.facets.crime] == [("extorsion", 2)]
    empty = index.search("nadaqueencontrar", facets=True).facets
    assert empty is not None
    assert (empty.source, empty.entities, empty.crime, empty.published) == ([], {}, [], [])
    assert index.search("corrupción").facets is None


def test_histogram_weeks_start_on_monday_and_gaps_are_filled(index: SqliteIndex) -> None:
    weekly = index.search("*", facets=True, interval="week").facets
    assert weekly is not None
    buckets = [(b.value, b.count) for b in weekly.published]
    # d1 Thu 09-10 (week of Mon 09-07), d2 Thu 10-01 and d5 Sat 10-03 (Mon 09-28),
    # d3 Thu 11-05 (Mon 11-02); every week between, empty or not
    first, last = date(2026, 9, 7), date(2026, 11, 2)
    weeks = [(first + timedelta(days=7 * n)).isoformat() for n in range(9)]
    assert weeks[-1] == last.isoformat()
    expected = {"2026-09-07": 1, "2026-09-28": 2, "2026-11-02": 1}
    assert buckets == [(week, expected.get(week, 0)) for week in weeks]
    assert all(date.fromisoformat(value).weekday() == 0 for value, _ in buckets)
    daily = index.search("pulpos", facets=True, interval="day").facets
    assert daily is not None
    assert [(b.value, b.count) for b in daily.published] == [
        ("2026-10-01", 1), ("2026-10-02", 0), ("2026-10-03", 1)]


def test_facet_ties_sort_by_value(tmp_path: Path) -> None:
    ix = SqliteIndex(tmp_path / "i.sqlite")
    ix.upsert([IndexDocument(f"t{i}", f"https://x.pe/{i}", source, "t", "lavado", None,
                             crime_types=(crime,))
               for i, (source, crime) in enumerate([("b", "z"), ("a", "y"), ("c", "z"),
                                                    ("a", "x"), ("b", "x")])])
    found = ix.search("lavado", facets=True).facets
    assert found is not None
    assert [(b.value, b.count) for b in found.source] == [("a", 2), ("b", 2), ("c", 1)]
    assert [(b.value, b.count) for b in found.crime] == [("x", 2), ("z", 2), ("y", 1)]
    ix.close()


# --------------------------------------------------------------------------- snippets


def test_snippets_are_escaped_and_marked(index: SqliteIndex) -> None:
    (hit,) = index.search("sicarios").hits
    assert "<mark>Sicarios</mark>" in hit.snippet
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet
    (hit,) = index.search("lavad* AND source:rpp", ids=["d4"]).hits
    assert "<mark>lavados</mark>" in hit.snippet
    (hit,) = index.search("lavado NOT pataz", ids=["d1"]).hits
    assert "<mark>lavado</mark>" in hit.snippet and "<mark>Pataz" not in hit.snippet


def test_json_shape(index: SqliteIndex) -> None:
    data = index.search("pataz", facets=True).to_json()
    assert data["total"] == 1
    assert set(data["hits"][0]) == {"id", "url", "title", "published", "source", "snippet",
                                     "duplicates"}
    assert set(data["facets"]) == {"source", "entities", "crime", "published"}


# -------------------------------------------------------------------------- writes


def test_upsert_keeps_one_copy_per_id(index: SqliteIndex) -> None:
    index.upsert(DOCS[:2])
    index.upsert([IndexDocument("d1", "https://rpp.pe/1", "rpp", "Título nuevo", "huaico", None,
                                entities=(PATAZ,))])
    assert index.count() == 5
    assert members(index, "huaico") == {"d1"}
    assert members(index, "provias") == set()  # the old text left the FTS index too
    assert members(index, "entity:boluarte") == set()  # and its old entities
    assert members(index, "crime:colusion") == set()
    assert members(index, "entity:pataz") == {"d1", "d3"}
    facets = index.search("*", facets=True).facets
    assert facets is not None and ("official:dina-boluarte", 1) in [
        (b.value, b.count) for b in facets.entities["official"]]
    db = sqlite3.connect(index.path, isolation_level=None)
    db.execute("INSERT INTO docs_fts(docs_fts) VALUES ('integrity-check')")  # raises if corrupt
    db.close()
    index.delete(["d1", "nope"])
    assert index.count() == 4 and members(index, "huaico") == set()
    assert sorted(index.ids()) == ["d2", "d3", "d4", "d5"]
    index.upsert([DOCS[0], DOCS[0]])  # the same id twice in one batch: one copy
    assert index.count() == 5
    # the last document indexed again beside a new one: each keeps a row of its own
    index.upsert([DOCS[0], IndexDocument("d6", "https://x.pe/6", "x", "Huaico", "huaico", None)])
    assert index.count() == 6 and members(index, "huaico") == set()  # d6 is not in DOCS
    assert ids(index, "huaico") == {"d6"} and ids(index, "provías") == {"d1"}


def test_another_connection_sees_every_write_at_once(tmp_path: Path) -> None:
    """The worker writes, the API server reads with its own connection (and its own columnar
    copy of the index): each write is searched there at once, without reopening."""
    path = tmp_path / "index.sqlite"
    writer = SqliteIndex(path)
    writer.upsert(DOCS)
    reader = SqliteIndex(path, create=False)

    def seen(query: str) -> list[tuple[str, int]]:
        return [(h.id, h.duplicates) for h in reader.search(query, limit=100, sort="date").hits]

    def facet(field: str) -> list[tuple[str, int]]:
        found = reader.search("*", facets=True).facets
        assert found is not None
        buckets = found.crime if field == "crime" else found.entities.get(field, [])
        return [(b.value, b.count) for b in buckets]

    assert seen('entity:"Los Pulpos"') == [("d5", 1)]
    assert facet("crime") == [("extorsion", 2), ("lavado_activos", 2), ("colusion", 1),
                              ("mineria_ilegal", 1), ("sicariato", 1)]
    writer.upsert([IndexDocument("d7", "https://x.pe/7", "x", "Huaico en Pataz", "huaico",
                                 "2026-12-01T10:00:00-05:00", entities=(PATAZ,),
                                 crime_types=("mineria_ilegal",))])
    assert seen("huaico") == [("d7", 0)]
    assert facet("place") == [("place:pataz", 2), ("place:trujillo", 2)]
    # d5 leaves the cluster of d2; d1 changes its entities and crimes
    writer.upsert([replace(DOCS[4], cluster=""),
                   replace(DOCS[0], entities=(PULPOS,), crime_types=())])
    assert seen('entity:"Los Pulpos"') == [("d5", 0), ("d2", 0), ("d1", 0)]
    assert seen('entity:"Provías Nacional"') == []
    assert facet("crime") == [("extorsion", 2), ("mineria_ilegal", 2), ("lavado_activos", 1),
                              ("sicariato", 1)]
    writer.delete(["d2", "d7"])
    assert seen('entity:"Los Pulpos"') == [("d5", 0), ("d1", 0)] and seen("huaico") == []
    assert reader.count() == 4 and sorted(reader.ids()) == ["d1", "d3", "d4", "d5"]
    writer.close()
    reader.close()


def test_rebuild_switches_generations_while_another_process_searches(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    writer = SqliteIndex(path)
    writer.upsert(DOCS)
    reader = SqliteIndex(path, create=False)  # as the API server, with its own connection
    inode = os.stat(path).st_ino
    assert reader.search("corrupción").total == 2
    new = [IndexDocument(f"r{i}", f"https://x.pe/r{i}", "nuevo", f"Huaico {i}",
                         "El huaico arrasó el pueblo.", "2026-12-01T10:00:00-05:00")
           for i in range(30)]
    seen_during: list[tuple[int, int]] = []

    def batches() -> Iterator[Sequence[IndexDocument]]:
        for start in range(0, 30, 10):
            yield new[start:start + 10]
            # between batches, the other connection still searches the old generation
            seen_during.append((reader.search("corrupción").total, reader.count()))
            assert reader.search("huaico").total == 0

    assert writer.rebuild(batches()) == 30
    assert seen_during == [(2, 5)] * 3
    assert (reader.count(), reader.search("huaico").total, reader.search("corrupción").total) \
        == (30, 30, 0)
    assert os.stat(path).st_ino == inode  # the same file: WAL connections stay valid
    names = {r[0] for r in writer.db.execute("SELECT name FROM sqlite_master")}
    assert not any(n.endswith(("_next", "_old")) or "_next_" in n or "_old_" in n
                   for n in names)
    writer.upsert(DOCS[:1])  # the new generation takes writes as before
    assert reader.search("corrupción").total == 1
    writer.close()
    reader.close()


def test_a_failed_rebuild_leaves_the_current_index(index: SqliteIndex) -> None:
    def batches() -> Iterator[Sequence[IndexDocument]]:
        yield [IndexDocument("x", "https://x.pe/x", "x", "Huaico", "huaico", None)]
        raise OSError("the store went away")

    with pytest.raises(RetryLater) as caught:  # E508, as from Elasticsearch
        index.rebuild(batches())
    assert caught.value.code == "E508" and "the store went away" in caught.value.message
    assert index.count() == 5 and index.search("huaico").total == 0
    assert index.search("corrupción").total == 2
    names = {r[0] for r in index.db.execute("SELECT name FROM sqlite_master")}
    assert not any("_next" in n for n in names)
    assert index.rebuild([DOCS[:2]]) == 2  # and a later one works


# ------------------------------------------------------------------ schema upgrades


V2_SCHEMA = """
CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, url TEXT NOT NULL,
    source TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, published TEXT,
    language TEXT, entities TEXT NOT NULL DEFAULT '[]', indexed_at TEXT NOT NULL, cluster TEXT);
CREATE VIRTUAL TABLE docs_fts USING fts5(title, text, content='docs', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN
    INSERT INTO docs_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;
INSERT INTO docs VALUES (7, 'a', 'https://x.pe/a', 'x', 'Titular', 'lavado', NULL, 'es',
    '[]', '2026-01-01', 'a');
PRAGMA user_version = 2;
"""


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_index_is_upgraded_empty_and_asks_for_a_reindex(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "index.sqlite"
    old = sqlite3.connect(path)
    schema = V2_SCHEMA if version == 2 else V2_SCHEMA.replace(", cluster TEXT", "").replace(
        ", 'a');", ");").replace("user_version = 2", "user_version = 1")
    old.executescript(schema)
    old.close()
    index = SqliteIndex(path, create=False)
    assert index.needs_reindex is True
    assert index.count() == 0 and index.search("lavado").total == 0
    assert index.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    index.upsert(DOCS[:1])
    assert index.search("lavado").total == 1
    index.close()
    again = SqliteIndex(path)  # the flag stays until the worker has queued the documents
    assert again.needs_reindex is True and again.count() == 1
    again.needs_reindex = False
    again.close()
    third = SqliteIndex(path)
    assert third.needs_reindex is False and third.count() == 1
    third.close()


def test_a_new_index_needs_the_store_reindexed_until_told(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path / "index.sqlite")
    assert index.needs_reindex is True
    index.rebuild([DOCS])
    assert index.needs_reindex is False
    index.close()
    assert SqliteIndex(tmp_path / "index.sqlite").needs_reindex is False


def test_an_index_analyzed_otherwise_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.sqlite"
    index = SqliteIndex(path)
    index.upsert(DOCS)
    index.needs_reindex = False
    index.close()
    # as if the stemmer had changed: deleting its rows with new token streams would corrupt it
    monkeypatch.setattr(sqlite_backend, "analysis_fingerprint", lambda: "another")
    reopened = SqliteIndex(path)
    assert reopened.needs_reindex is True and reopened.count() == 0
    reopened.close()


def test_a_newer_index_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    SqliteIndex(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(FixInput) as caught:
        SqliteIndex(path)
    assert caught.value.code == "E506"


# --------------------------------------------------------------------------- errors


def test_missing_index_without_create(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as caught:
        SqliteIndex(tmp_path / "none.sqlite", create=False)
    assert caught.value.code == "E505"
    assert not (tmp_path / "none.sqlite").exists()


def test_a_damaged_file_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(RetryLater) as caught:
        SqliteIndex(path)
    assert caught.value.code == "E504"


def test_a_busy_index_is_retry_later(index: SqliteIndex) -> None:
    other = sqlite3.connect(index.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    index.db.execute("PRAGMA busy_timeout = 50")
    try:
        with pytest.raises(RetryLater) as caught:
            index.upsert(DOCS[:1])
        assert caught.value.code == "E504"
        assert index.search("corrupción").total == 2  # WAL: reading goes on meanwhile
        started = time.monotonic()
        reader = SqliteIndex(index.path, create=False)  # opening takes no write lock
        assert reader.search("corrupción").total == 2 and time.monotonic() - started < 5
        reader.close()
    finally:
        other.execute("ROLLBACK")
        other.close()
    index.upsert(DOCS[:1])


def test_a_read_only_index_is_unavailable_not_a_bad_query(index: SqliteIndex) -> None:
    """As on a read-only data dir (root writes anywhere, so SQLite is told instead)."""
    index.db.execute("PRAGMA query_only = ON")
    for write in (lambda: index.upsert(DOCS[:1]), lambda: index.delete(["d1"]),
                  lambda: setattr(index, "needs_reindex", False)):
        with pytest.raises(RetryLater) as caught:
            write()
        assert caught.value.code == "E504" and "readonly" in caught.value.message
        assert "\n" not in caught.value.message
    with pytest.raises(RetryLater) as failed:
        index.rebuild([DOCS])
    assert failed.value.code == "E508" and "readonly" in failed.value.message
    assert index.search("corrupción").total == 2  # searches go on
    index.db.execute("PRAGMA query_only = OFF")
    assert index.rebuild([DOCS[:2]]) == 2


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"limit": MAX_LIMIT + 1}, "E502"),
        ({"limit": -1}, "E502"),
        ({"offset": -1}, "E502"),
        ({"offset": MAX_WINDOW - 10, "limit": 11}, "E502"),
        ({"facet_size": 0}, "E502"),
        ({"facet_size": MAX_FACET_SIZE + 1}, "E502"),
        ({"sort": "score"}, "E502"),
        ({"interval": "year"}, "E502"),
    ],
)
def test_bad_parameters_are_clear_errors(
    index: SqliteIndex, kwargs: dict[str, object], code: str
) -> None:
    with pytest.raises(FixInput) as caught:
        index.search("lavado", **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert index.search("lavado", offset=MAX_WINDOW - 10, limit=10).hits == []


@pytest.mark.parametrize(
    ("query", "code"),
    [("a AND (", "E501"), ("", "E501"), ("autor:gorriti", "E502"), ("co?rupcion", "E502"),
     ("kind:banda", "E502"), ("published:[2026-02-01 TO 2026-01-01]", "E502"), ("_", "E502")],
)
def test_bad_queries_are_clear_errors(index: SqliteIndex, query: str, code: str) -> None:
    with pytest.raises(FixInput) as caught:
        index.search(query)
    assert caught.value.code == code
    assert "\n" not in caught.value.message


def test_threads_share_one_index(index: SqliteIndex) -> None:
    expected = {q: members(index, q) for q in ("corrupción", "pulpos OR pataz", "NOT lavado")}
    failures: list[str] = []

    def search(n: int) -> None:
        for i in range(30):
            query = list(expected)[(n + i) % 3]
            found = index.search(query, limit=100, facets=True)
            counted = Counter(b.value for b in found.facets.source) if found.facets else {}
            if sum(h.duplicates + 1 for h in found.hits) != len(expected[query]) or not counted:
                failures.append(query)

    threads = [threading.Thread(target=search, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
