"""One search suite, run on both backends: the same corpus, the same queries, the same answers.

Every expected answer below was worked out by hand from the documents of
tests/search_corpus.py (not by running a backend), so each backend is checked against the
truth, and hence against the other. A query's expected value is the set of DOCUMENTS it
matches; hits collapse near-duplicates (n11, n12, n13 are one cluster), so a result must show
each matching cluster once, through one of its matching members, with the other matching
members counted in `duplicates`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from indexer.base import Bucket, IndexBackend, IndexEntity, SearchResult
from pesquisa.errors import FixInput
from tests.search_corpus import (
    ALL_IDS,
    BACKENDS,
    BY_ID,
    CALLAO,
    built_index,
    cluster_of,
    clusters,
    doc,
    ent,
    everything,
    hit_ids,
    matched_docs,
)


class Indexes:
    """Each backend's index over the corpus, built once per module on first use."""

    def __init__(self, request: pytest.FixtureRequest, root: Path) -> None:
        self.request, self.root = request, root
        self.stack = ExitStack()
        self.built: dict[str, IndexBackend] = {}

    def get(self, name: str) -> IndexBackend:
        if name not in self.built:
            url = self.request.getfixturevalue("es_url") if name == "elasticsearch" else None
            self.built[name] = self.stack.enter_context(
                built_index(name, self.root / name, url))
        return self.built[name]


@pytest.fixture(scope="module")
def indexes(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexes]:
    built = Indexes(request, tmp_path_factory.mktemp("parity"))
    with built.stack:
        yield built


@pytest.fixture(scope="module", params=BACKENDS)
def index(request: pytest.FixtureRequest, indexes: Indexes) -> IndexBackend:
    return indexes.get(request.param)


def ids(spaced: str) -> frozenset[str]:
    found = frozenset(spaced.split())
    assert found <= ALL_IDS, found - ALL_IDS
    return found


def assert_matches(result: SearchResult, expected: frozenset[str]) -> None:
    """The hits are the expected documents' clusters, once each, through matching members."""
    shown = hit_ids(result.hits)
    assert len(shown) == len(set(shown))
    assert set(shown) <= expected, f"unexpected hits: {set(shown) - expected}"
    assert sorted(cluster_of(h) for h in shown) == sorted(clusters(expected))
    assert result.total == len(clusters(expected))
    assert matched_docs(result) == len(expected)


EXTORSION_WORD = ids("n01 n03 n04 n09 n11 n12 n13 n27 n30")
EXTORSION_CRIME = ids("n01 n03 n04 n09 n11 n12 n13 n19 n26 n27 n30")
PNP_DOCS = ids("n01 n03 n09 n11 n12 n13 n20 n29 n31 n33 n36")
DINA_DOCS = ids("n09 n10 n17")
PULPOS_DOCS = ids("n01 n02 n26 n29 n36")
LAVADO_CRIME = ids("n05 n06 n16 n18 n22 n23")
FISCAL_WORD = ids("n01 n05 n10 n17 n25 n35")  # "fiscal", "fiscales" (not "Fiscalía")
RPP = ids("n01 n09 n12 n20 n22")
EMPTY: frozenset[str] = frozenset()

TABLE: list[tuple[str, frozenset[str]]] = [
    # terms: stemmed, accent- and case-insensitive
    ("extorsión", EXTORSION_WORD),  # extorsión, extorsiones, extorsionadores
    ("EXTORSION", EXTORSION_WORD),
    ("PRISIÓN", ids("n02 n08 n32")),
    ("prision", ids("n02 n08 n32")),
    ("policía", ids("n01 n11 n12 n13 n20 n29 n31 n33")),  # not "policial", not "PNP"
    ("sicario", ids("n26")),  # "sicarios", not "sicariato"
    ("cocaína OR cocaina", ids("n31")),
    # boolean
    ("extorsión AND trujillo", ids("n01")),
    ("extorsión trujillo", ids("n01")),
    ("pulpos OR aragua", ids("n01 n02 n03 n14 n26 n29 n36")),
    ("pulpos NOT policía", ids("n02 n26 n36")),
    ("pulpos -policía", ids("n02 n26 n36")),
    ("(pulpos OR aragua) AND crime:extorsion", ids("n01 n03 n26")),
    ("fiscalía OR fiscal", ids("n01 n05 n07 n10 n17 n24 n25 n32 n35")),
    ("NOT fiscal", ALL_IDS - FISCAL_WORD),
    ("-fiscal", ALL_IDS - FISCAL_WORD),
    ("NOT *", EMPTY),
    # NOT inside OR: everything but, joined to the rest
    ("sicari* OR -crime:extorsion", ALL_IDS - EXTORSION_CRIME | ids("n04 n26")),
    ("kind:person OR NOT policía", ALL_IDS - ids("n01 n11 n12 n13 n20 n29 n31 n33")),
    ("(pulpos OR -source:rpp) AND crime:extorsion", ids("n01 n03 n04 n11 n13 n19 n26 n27 n30")),
    # stop words: dropped from bare terms, kept in phrases and in stop-word-only queries
    ("tren de aragua", ids("n03 n14")),
    ('"tren aragua"', EMPTY),  # the phrase needs its "de"
    ('"tren aragua"~1', ids("n03 n14")),
    ('"de la nación"', ids("n10 n17")),
    ("nosotros", ids("n19")),
    ("nosotros cupos", ids("n01 n19 n26 n30")),
    ('"nosotros pagamos"', ids("n19")),
    # phrases
    ('"lavado de activos"', ids("n05 n06 n18")),
    ('"ministerio del interior"', ids("n04")),  # not "ministro del Interior" (n27)
    ("ministerio interior", ids("n04 n21")),
    ('"poder judicial"', ids("n02 n34 n35")),
    ('title:"poder judicial"', ids("n02 n34")),
    # proximity: within N words, any order, in one field
    ("lavado activos", ids("n05 n06 n18 n22 n23")),
    ('"lavado activos"~0', EMPTY),
    ('"lavado activos"~1', ids("n05 n06 n18 n22")),  # n22: "activos eran lavados"
    ('"activos lavado"~1', ids("n05 n06 n18 n22")),
    ('"lavado activos"~2', ids("n05 n06 n18 n22 n23")),  # n23: "lavado ilegal de activos"
    ('"ministerio interior"~1', ids("n04")),
    ('"ola sicariato"~1', ids("n20")),
    # three words: no two of them more than N words apart (FTS5's NEAR; Lucene's slop would
    # count the 13 words between them all, not the 14 between the first and the last)
    ('"pulpos sicarios transportista"~14', ids("n26")),
    ('"pulpos sicarios transportista"~13', EMPTY),
    # n20: "sicariato" in the title, "Trujillo" in the body: near in neither field
    ("sicariato trujillo", ids("n20")),
    ('"sicariato trujillo"~10', EMPTY),
    ('"sicariato trujillo"~1000', EMPTY),
    ("title:sicariato AND text:trujillo", ids("n20")),
    # prefixes: on the unstemmed words
    ("lav*", ids("n05 n06 n16 n18 n22 n23 n33")),  # with "Lavandería"
    ("lavado", LAVADO_CRIME),  # the stem: lavado, lavaron, lavados
    ("lavado*", LAVADO_CRIME),
    ("lavados*", ids("n22")),
    ("extorsionad*", ids("n03 n11 n12 n13 n30")),
    ("sicari*", ids("n04 n20 n26")),
    ("title:sicari*", ids("n20 n26")),
    # title: and text:
    ("colusión", ids("n07 n15")),
    ("title:colusión", ids("n07")),
    ("text:colusión", ids("n07 n15")),
    ("title:fiscalía", ids("n01 n07 n10 n32 n35")),
    ("text:fiscalía", ids("n01 n07 n24")),
    ("title:(pulpos OR aragua)", ids("n02 n03 n14 n29 n36")),
    ("text:sicari*", ids("n04 n26")),  # "sicariato", "sicarios" in the body; n20 in its title
    ("title:lav*", ids("n06 n16 n33")),
    ('title:"lavado activos"~1', ids("n06")),
    ('text:"lavado activos"~1', ids("n05 n18 n22")),
    ('text:"poder judicial" -entity:"Poder Judicial"', ids("n35")),
    # source:
    ("source:rpp", RPP),
    ("source:RPP", RPP),
    ("source:mpfn-noticias", ids("n07 n17")),
    ("source:infobae*", ids("n04 n14 n35")),
    ("source:(andina OR exitosa)", ids("n05 n11 n13 n21 n34")),
    ("-source:rpp", ALL_IDS - RPP),
    # entity: by id, by canonical name, by the alias it appears under
    ('entity:"official:dina-boluarte"', DINA_DOCS),
    ("entity:official:dina-boluarte", DINA_DOCS),
    ('entity:"Dina Boluarte"', DINA_DOCS),
    ('entity:"dina boluarte"', DINA_DOCS),
    ('entity:"Boluarte Zegarra"', ids("n10")),
    ("entity:dina*", DINA_DOCS),
    ("entity:official:*", ids("n04 n09 n10 n17 n27 n32")),
    ("entity:PNP", ids("n03 n09 n13 n29 n36")),
    ('entity:"Policía Nacional del Perú"', PNP_DOCS),
    ('entity:"policia nacional del peru"', PNP_DOCS),
    ('entity:"El Chino"', ids("n02 n36")),
    ("entity:vizcarra", ids("n32")),
    ('entity:"crime_group:los-pulpos"', PULPOS_DOCS),
    ('entity:"Servicios & Obras S.A.C."', ids("n25")),
    ('entity:"Poder Judicial"', ids("n02 n08 n16 n34")),
    # kind: and crime:
    ("kind:crime_group", ids("n01 n02 n03 n11 n12 n13 n14 n26 n29 n36")),
    ("kind:person", ids("n02 n36")),
    ("kind:organization OR kind:person", ids("n02 n25 n36")),
    ("kind:official AND crime:extorsion", ids("n04 n09 n27")),
    ("crime:extorsion", EXTORSION_CRIME),
    ("crime:Extorsión", EXTORSION_CRIME),
    ('crime:"lavado activos"', LAVADO_CRIME),
    ("crime:lavado*", LAVADO_CRIME),
    ("crime:colusion OR crime:peculado OR crime:cohecho", ids("n07 n08 n15 n25 n32")),
    ("crime:extorsion -extorsión", ids("n19 n26")),
    # published: Lima days, partial dates, exclusive and open ends
    ("published:[2024-01-01 TO 2024-01-31]", ids("n01 n02 n03 n24 n28 n33")),
    ("published:2024-01", ids("n01 n02 n03 n24 n28 n33")),  # n33: 23:30 on the 31st, Lima
    ("published:{2024-01-01 TO 2024-01-31}", ids("n01 n02 n03 n24 n28")),
    ("published:2024-02", ids("n04 n05 n06 n25 n29 n34")),
    ("published:2024-02-01", ids("n34")),  # not n33 (Feb 1st in UTC only)
    ("published:2024-04", EMPTY),
    ("published:2023", ids("n23 n36")),
    ("published:<2024", ids("n23 n36")),
    ("published:[* TO 2024-01-08]", ids("n01 n23 n28 n36")),
    ("published:>=2024-06-14", ids("n20 n21 n22 n27 n35")),
    ("published:>2024-06-28", ids("n35")),
    ("published:[2024-06-30 TO *]", ids("n35")),
    ("published:2024-07", EMPTY),  # n35: 23:59 on June 30th in Lima, July 1st in UTC
    ("published:[* TO *]", ALL_IDS - ids("n19")),  # every dated document
    ("NOT published:2024", ids("n19 n23 n36")),  # the undated one is not in 2024
    ("extorsión AND published:[2024-03 TO 2024-06]", ids("n09 n11 n12 n13 n27 n30")),
    ("crime:extorsion -published:2024", ids("n19")),
    ('entity:"Los Pulpos" AND published:2024-01', ids("n01 n02")),
    ("published:2023 OR -published:[* TO *]", ids("n19 n23 n36")),
    # everything
    ("*", ALL_IDS),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[q for q, _ in TABLE])
def test_query(index: IndexBackend, text: str, expected: frozenset[str]) -> None:
    assert_matches(everything(index, text), expected)


# --- facets --------------------------------------------------------------------------------

def rows(buckets: list[Bucket]) -> list[tuple[str, int]]:
    return [(b.value, b.count) for b in buckets]


def entity_rows(result: SearchResult) -> dict[str, list[tuple[str, int, str | None]]]:
    assert result.facets is not None
    return {kind: [(b.value, b.count, b.label) for b in buckets]
            for kind, buckets in result.facets.entities.items() if buckets}


def test_facets_of_everything(index: IndexBackend) -> None:
    result = index.search("*", limit=0, facets=True)
    assert result.total == 34 and result.hits == []
    facets = result.facets
    assert facets is not None
    assert rows(facets.source) == [
        ("rpp", 5), ("andina", 4), ("infobae-peru", 3), ("larepublica", 3), ("elcomercio", 2),
        ("gestion", 2), ("mpfn-noticias", 2), ("ojo-publico", 2), ("pj-noticias", 2),
        ("canaln", 1),
    ]
    assert rows(facets.crime) == [
        ("extorsion", 11), ("organizacion_criminal", 7), ("lavado_activos", 6),
        ("banda_criminal", 3), ("sicariato", 3), ("cohecho", 2), ("colusion", 2),
        ("enriquecimiento_ilicito", 2), ("mineria_ilegal", 2), ("trafico_drogas", 2),
    ]
    assert entity_rows(result) == {
        "official": [
            ("official:dina-boluarte", 3, "Dina Boluarte"),
            ("official:juan-jose-santivanez", 2, "Juan José Santiváñez"),
            ("official:juan-carlos-villena", 1, "Juan Carlos Villena"),
            ("official:martin-vizcarra", 1, "Martín Vizcarra"),
        ],
        "institution": [
            ("institution:policia-nacional-del-peru", 11, "Policía Nacional del Perú"),
            ("institution:ministerio-publico", 7, "Ministerio Público"),
            ("institution:congreso-de-la-republica", 4, "Congreso de la República"),
            ("institution:poder-judicial", 4, "Poder Judicial"),
            ("institution:provias-nacional", 2, "Provías Nacional"),
            ("institution:contraloria-general-de-la-republica", 1,
             "Contraloría General de la República"),
            ("institution:ministerio-de-economia-y-finanzas", 1,
             "Ministerio de Economía y Finanzas"),
            ("institution:ministerio-del-interior", 1, "Ministerio del Interior"),
            ("institution:unidad-de-inteligencia-financiera", 1,
             "Unidad de Inteligencia Financiera"),
        ],
        "crime_group": [
            ("crime_group:los-pulpos", 5, "Los Pulpos"),
            ("crime_group:los-injertos-del-cono-norte", 3, "Los Injertos del Cono Norte"),
            ("crime_group:tren-de-aragua", 2, "Tren de Aragua"),
        ],
        "person": [("person:jhonatan-quispe-huaman", 2, "Jhonatan Quispe Huamán")],
        "organization": [("organization:servicios-y-obras-sac", 1, "Servicios & Obras S.A.C.")],
        "place": [
            ("place:lima", 5, "Lima"), ("place:callao", 3, "Callao"),
            ("place:chimbote", 3, "Chimbote"), ("place:trujillo", 3, "Trujillo"),
            ("place:la-libertad", 2, "La Libertad"), ("place:ancash", 1, "Áncash"),
            ("place:comas", 1, "Comas"), ("place:madre-de-dios", 1, "Madre de Dios"),
            ("place:moquegua", 1, "Moquegua"), ("place:pataz", 1, "Pataz"),
        ],
    }
    assert facets.interval == "month"
    assert rows(facets.published) == [  # April 2024 is empty; the undated n19 is in no bucket
        ("2023-12-01", 2), ("2024-01-01", 6), ("2024-02-01", 6), ("2024-03-01", 6),
        ("2024-04-01", 0), ("2024-05-01", 7), ("2024-06-01", 8),
    ]


def test_facets_count_documents_before_the_collapse(index: IndexBackend) -> None:
    result = everything(index, "crime:extorsion", facets=True)
    assert result.total == 9  # n11, n12, n13: one cluster
    facets = result.facets
    assert facets is not None
    assert rows(facets.source) == [
        ("rpp", 3), ("andina", 1), ("canaln", 1), ("caretas", 1), ("exitosa", 1),
        ("infobae-peru", 1), ("larepublica", 1), ("peru21", 1), ("trome", 1),
    ]
    assert rows(facets.crime) == [
        ("extorsion", 11), ("banda_criminal", 3), ("organizacion_criminal", 2),
        ("sicariato", 2),
    ]
    assert entity_rows(result) == {
        "official": [
            ("official:juan-jose-santivanez", 2, "Juan José Santiváñez"),
            ("official:dina-boluarte", 1, "Dina Boluarte"),
        ],
        "institution": [
            ("institution:policia-nacional-del-peru", 6, "Policía Nacional del Perú"),
            ("institution:congreso-de-la-republica", 2, "Congreso de la República"),
            ("institution:ministerio-del-interior", 1, "Ministerio del Interior"),
            ("institution:ministerio-publico", 1, "Ministerio Público"),
        ],
        "crime_group": [
            ("crime_group:los-injertos-del-cono-norte", 3, "Los Injertos del Cono Norte"),
            ("crime_group:los-pulpos", 2, "Los Pulpos"),
            ("crime_group:tren-de-aragua", 1, "Tren de Aragua"),
        ],
        "place": [
            ("place:chimbote", 3, "Chimbote"), ("place:lima", 2, "Lima"),
            ("place:trujillo", 2, "Trujillo"), ("place:ancash", 1, "Áncash"),
            ("place:comas", 1, "Comas"), ("place:san-martin-de-porres", 1,
                                          "San Martín de Porres"),
        ],
    }
    assert rows(facets.published) == [
        ("2024-01-01", 2), ("2024-02-01", 1), ("2024-03-01", 2), ("2024-04-01", 0),
        ("2024-05-01", 4), ("2024-06-01", 1),
    ]


def test_facet_size(index: IndexBackend) -> None:
    result = index.search("*", limit=1, facets=True, facet_size=2)
    facets = result.facets
    assert facets is not None
    assert rows(facets.source) == [("rpp", 5), ("andina", 4)]
    assert rows(facets.crime) == [("extorsion", 11), ("organizacion_criminal", 7)]
    assert {k: [v for v, _, _ in b] for k, b in entity_rows(result).items()} == {
        "official": ["official:dina-boluarte", "official:juan-jose-santivanez"],
        "institution": ["institution:policia-nacional-del-peru", "institution:ministerio-publico"],
        "crime_group": ["crime_group:los-pulpos", "crime_group:los-injertos-del-cono-norte"],
        "person": ["person:jhonatan-quispe-huaman"],
        "organization": ["organization:servicios-y-obras-sac"],
        "place": ["place:lima", "place:callao"],
    }
    # the histogram is never cut by facet_size
    assert len(facets.published) == 7


def mondays(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    assert start.weekday() == 0
    return [(start + timedelta(weeks=n)).isoformat()
            for n in range((end - start).days // 7 + 1)]


def test_histogram_by_week(index: IndexBackend) -> None:
    result = index.search('entity:"Los Pulpos"', facets=True, interval="week")
    facets = result.facets
    assert facets is not None
    assert facets.interval == "week"
    # n36 Thu 2023-12-28, n01 Mon 01-08, n02 Mon 01-15, n29 Wed 02-14, n26 Wed 03-06
    expected = {"2023-12-25": 1, "2024-01-08": 1, "2024-01-15": 1, "2024-02-12": 1,
                "2024-03-04": 1}
    weeks = mondays("2023-12-25", "2024-03-04")
    assert len(weeks) == 11
    assert rows(facets.published) == [(w, expected.get(w, 0)) for w in weeks]
    by_month = index.search('entity:"Los Pulpos"', facets=True, interval="month").facets
    assert by_month is not None
    assert rows(by_month.published) == [
        ("2023-12-01", 1), ("2024-01-01", 2), ("2024-02-01", 1), ("2024-03-01", 1)]


def test_histogram_by_day(index: IndexBackend) -> None:
    result = index.search("crime:banda_criminal OR crime:trata_personas", facets=True,
                          interval="day")
    facets = result.facets
    assert facets is not None
    assert result.total == 2  # the Chimbote cluster and n14
    assert rows(facets.published) == [
        ("2024-05-06", 2), ("2024-05-07", 1), ("2024-05-08", 0), ("2024-05-09", 0),
        ("2024-05-10", 0), ("2024-05-11", 0), ("2024-05-12", 0), ("2024-05-13", 1),
    ]
    # a Lima day, not a UTC one: n33 (Jan 31st 23:30) and n34 (Feb 1st 00:30)
    days = index.search("published:[2024-01-31 TO 2024-02-01]", facets=True, interval="day")
    assert days.facets is not None
    assert rows(days.facets.published) == [("2024-01-31", 1), ("2024-02-01", 1)]


def test_no_facets_unless_asked(index: IndexBackend) -> None:
    assert index.search("extorsión").facets is None
    empty = index.search("published:2024-04", facets=True)
    assert empty.total == 0 and empty.facets is not None
    assert (empty.facets.source, empty.facets.crime, empty.facets.published) == ([], [], [])
    assert not any(empty.facets.entities.values())


# --- near-duplicates, sorting, paging ------------------------------------------------------

def test_cluster_shown_once(index: IndexBackend) -> None:
    result = everything(index, "desarticula chimbote")
    assert result.total == 1
    [hit] = result.hits
    assert hit.id in {"n11", "n12", "n13"} and hit.duplicates == 2
    newest = everything(index, "desarticula chimbote", sort="date")
    assert [(h.id, h.duplicates) for h in newest.hits] == [("n13", 2)]
    # only the members that match count
    assert [(h.id, h.duplicates) for h in everything(index, "source:rpp chimbote").hits] == [
        ("n12", 0)]
    assert [(h.id, h.duplicates) for h in everything(index, "áncash").hits] == [("n13", 0)]
    andina = everything(index, "source:andina", sort="date")
    assert [(h.id, h.duplicates) for h in andina.hits] == [
        ("n21", 0), ("n11", 0), ("n05", 0), ("n34", 0)]


def test_sort_by_date(index: IndexBackend) -> None:
    newest_first = everything(index, "crime:lavado_activos", sort="date")
    assert hit_ids(newest_first.hits) == ["n22", "n18", "n16", "n06", "n05", "n23"]
    # relevance asked, but no text to rank by: by date too
    assert hit_ids(everything(index, "crime:lavado_activos").hits) == hit_ids(newest_first.hits)
    # the undated document comes last; one hit for the cluster, its newest member
    extortion = everything(index, "crime:extorsion", sort="date")
    assert hit_ids(extortion.hits) == [
        "n27", "n30", "n13", "n09", "n26", "n04", "n03", "n01", "n19"]
    published = [BY_ID[h].published or "" for h in hit_ids(extortion.hits)]
    assert published == [*sorted(published[:-1], reverse=True), ""]
    # text queries sorted by date
    assert hit_ids(everything(index, "lav*", sort="date").hits) == [
        "n22", "n18", "n16", "n06", "n05", "n33", "n23"]


@pytest.mark.parametrize(("text", "sort"), [("*", "date"), ("extorsión OR pulpos OR lav*",
                                                            "relevance"),
                                            ("extorsión OR pulpos OR lav*", "date")])
def test_pages_cover_everything_once(index: IndexBackend, text: str, sort: Any) -> None:
    whole = everything(index, text, sort=sort)
    seen: list[str] = []
    for offset in range(0, whole.total + 7, 7):
        page = index.search(text, limit=7, offset=offset, sort=sort)
        assert page.total == whole.total
        assert len(page.hits) == max(0, min(7, whole.total - offset))
        seen.extend(hit_ids(page.hits))
    assert len(seen) == len(set(seen)) == whole.total
    assert sorted(cluster_of(h) for h in seen) == sorted(cluster_of(h) for h in
                                                        hit_ids(whole.hits))
    if sort == "date":
        assert seen == hit_ids(whole.hits)


def test_title_weighs_more_than_body(index: IndexBackend) -> None:
    # "Interior" in the titles of n04 and n27, in the body of n21 only
    assert hit_ids(everything(index, "interior").hits)[-1] == "n21"
    assert set(hit_ids(everything(index, "interior").hits)[:2]) == {"n04", "n27"}
    scores = [h.score for h in everything(index, "interior").hits]
    assert all(s is not None for s in scores)


# --- snippets, ids, errors -----------------------------------------------------------------

def test_snippet_marks_and_escapes(index: IndexBackend) -> None:
    [hit] = everything(index, "sobornos").hits
    assert hit.id == "n25"
    assert "<mark>sobornos</mark>" in hit.snippet
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in hit.snippet
    assert "Servicios &amp; Obras" in hit.snippet
    assert "<script" not in hit.snippet
    assert hit.snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    [stemmed] = everything(index, "extorsión trujillo").hits
    assert "<mark>Trujillo</mark>" in stemmed.snippet
    [prefix] = everything(index, "lavados*").hits
    assert "<mark>lavados</mark>" in prefix.snippet


def test_hit_fields(index: IndexBackend) -> None:
    [hit] = everything(index, 'entity:"Boluarte Zegarra"').hits
    source = BY_ID["n10"]
    assert (hit.id, hit.url, hit.title, hit.published, hit.source) == (
        source.id, source.url, source.title, source.published, source.source)
    [undated] = everything(index, "nosotros").hits
    assert undated.published is None


def test_ids_restrict_the_search(index: IndexBackend) -> None:
    some = everything(index, "*", ids=["n01", "n12", "n19", "no-such-id"])
    assert_matches(some, ids("n01 n12 n19"))
    assert [h.duplicates for h in some.hits if h.id == "n12"] == [0]
    batch = everything(index, "extorsión", ids=["n01", "n02", "n11", "n12"])
    assert_matches(batch, ids("n01 n11 n12"))
    assert_matches(everything(index, "extorsión", ids=[]), EMPTY)
    assert_matches(everything(index, "crime:extorsion -published:2024",
                              ids=["n19", "n26"]), ids("n19"))


@pytest.mark.parametrize(("text", "code"), [
    ("fiscal AND", "E501"), ('"lavado de', "E501"), ("foo:bar", "E502"),
    ("published:[2024-06 TO 2024-01]", "E502"), ("kind:banana", "E502"), ("fis?al", "E502"),
])
def test_bad_queries(index: IndexBackend, text: str, code: str) -> None:
    with pytest.raises(FixInput) as caught:
        index.search(text)
    assert caught.value.code == code


# --- the same JSON from both backends ------------------------------------------------------

@pytest.mark.parametrize("text", [q for q, _ in TABLE], ids=[q for q, _ in TABLE])
def test_same_json_from_both(indexes: Indexes, text: str) -> None:
    """Sorted by date, the whole answer (hits, snippets, duplicates, facets) is the same."""
    answers = [indexes.get(name).search(text, limit=100, sort="date", facets=True,
                                        interval="week").to_json()
               for name in BACKENDS]
    assert answers[0] == answers[1]


# --- writes: what an upsert or a delete changes is searched at once ------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_writes_are_searched_at_once(request: pytest.FixtureRequest, tmp_path: Path,
                                     backend: str) -> None:
    url = request.getfixturevalue("es_url") if backend == "elasticsearch" else None
    chimbote = [BY_ID["n11"], BY_ID["n12"], BY_ID["n13"]]
    with built_index(backend, tmp_path, url, [*chimbote, BY_ID["n01"]]) as index:
        def newest(text: str) -> list[tuple[str, int]]:
            return [(h.id, h.duplicates) for h in everything(index, text, sort="date").hits]

        assert newest("chimbote") == [("n13", 2)]
        # n13 leaves its cluster; n01 now mentions other entities and crimes
        index.upsert([replace(BY_ID["n13"], cluster=""),
                      replace(BY_ID["n01"], entities=(ent(CALLAO),), crime_types=("cohecho",))])
        assert newest("chimbote") == [("n13", 0), ("n12", 1)]
        assert everything(index, "chimbote").total == 2
        assert newest('entity:"Los Pulpos"') == [] and newest("crime:extorsion") == [
            ("n13", 0), ("n12", 1)]
        assert newest("entity:callao crime:cohecho") == [("n01", 0)]
        facets = index.search("*", facets=True).facets
        assert facets is not None
        assert rows(facets.crime) == [("banda_criminal", 3), ("extorsion", 3), ("cohecho", 1)]
        assert [(b.value, b.count) for b in facets.entities["place"]] == [
            ("place:chimbote", 3), ("place:ancash", 1), ("place:callao", 1)]
        assert set(facets.entities) == {"place", "institution", "crime_group"}
        index.delete(["n12", "no-such-id"])
        assert newest("chimbote") == [("n13", 0), ("n11", 0)]
        assert index.count() == 3 and sorted(index.ids()) == ["n01", "n11", "n13"]


# --- odd documents: dates at the ends of the calendar, or no dates; odd entity kinds -------

ODD_DOCS = (
    doc("o1", "s1", "9999-12-31T10:00:00-05:00", "Hola", "hola uno",
        [IndexEntity("otra_cosa:uno", "Uno", "otra_cosa")]),
    doc("o2", "s1", "9999-12-24T10:00:00-05:00", "Hola", "hola dos",
        [IndexEntity("rara:dos", "Dos", "Rara-Cosa")]),  # a kind no facet can be named for
    doc("o3", "s2", "2024-02-30T10:00:00-05:00", "Hola", "hola tres"),  # no such day
    doc("o4", "s2", "0001-01-01T10:00:00-05:00", "Hola", "hola cuatro"),
    doc("o5", "s2", None, "Hola", "hola cinco"),
)


@pytest.fixture(scope="module", params=BACKENDS)
def odd(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexBackend]:
    url = request.getfixturevalue("es_url") if request.param == "elasticsearch" else None
    with built_index(request.param, tmp_path_factory.mktemp("odd"), url, ODD_DOCS) as index:
        yield index


def test_dates_are_derived_in_one_place() -> None:
    def derived(published: str | None) -> tuple[str | None, int | None]:
        found = doc("x", "s", published, "t", "t")
        return found.day, found.published_ms

    assert derived("2024-01-31T23:30:00-05:00") == ("2024-01-31", 1706761800000)  # Lima day
    assert derived("2026-03-01 23:00:00") == ("2026-03-01", 1772406000000)  # no offset: UTC
    assert derived("20260302") == ("2026-03-02", 1772409600000)
    # no date at all, or one that is no date: neither filtered nor counted, sorted last
    for nothing in (None, "", "ayer por la tarde", "2024-02-30T10:00:00-05:00",
                    "2024-05-01T25:00:00-05:00"):
        assert derived(nothing) == (None, None), nothing


def test_the_ends_of_the_calendar(odd: IndexBackend) -> None:
    assert_same_docs(everything(odd, "published:9999"), "o1 o2")
    assert_same_docs(everything(odd, "published:[* TO *]"), "o1 o2 o4")
    assert_same_docs(everything(odd, "NOT published:[* TO *]"), "o3 o5")
    assert hit_ids(everything(odd, "hola", sort="date").hits) == ["o1", "o2", "o4", "o3", "o5"]
    by_day = odd.search("published:9999", facets=True, interval="day").facets
    by_week = odd.search("published:9999", facets=True, interval="week").facets
    by_month = odd.search("published:9999", facets=True, interval="month").facets
    assert by_day is not None and by_week is not None and by_month is not None
    assert rows(by_day.published) == [("9999-12-24", 1), *((f"9999-12-{d}", 0)
                                                           for d in range(25, 31)),
                                      ("9999-12-31", 1)]
    assert rows(by_week.published) == [("9999-12-20", 1), ("9999-12-27", 1)]
    assert rows(by_month.published) == [("9999-12-01", 2)]
    # from year 1 to year 9999: too many months to fill, the non-empty ones only
    everyone = odd.search("*", facets=True).facets
    assert everyone is not None
    assert rows(everyone.published) == [("0001-01-01", 1), ("9999-12-01", 2)]


def test_entity_kinds_a_facet_can_name(odd: IndexBackend) -> None:
    facets = odd.search("*", facets=True).facets
    assert facets is not None
    assert {kind: [(b.value, b.count, b.label) for b in buckets]
            for kind, buckets in facets.entities.items()} == {
        "otra_cosa": [("otra_cosa:uno", 1, "Uno")]}
    # an entity whose kind has no facet is still found
    assert_same_docs(everything(odd, 'entity:"rara:dos"'), "o2")
    assert_same_docs(everything(odd, "entity:dos"), "o2")


def assert_same_docs(result: SearchResult, spaced: str) -> None:
    assert sorted(hit_ids(result.hits)) == sorted(spaced.split())
    assert result.total == len(spaced.split())
