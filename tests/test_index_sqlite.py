"""The SQLite FTS5 index and the query language compiled to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.backends.sqlite import (
    SNIPPET_AFTER,
    SNIPPET_BEFORE,
    WORD_SLACK,
    SqliteIndex,
    _snippet,
)
from indexer.base import IndexDocument
from indexer.query import parse
from pesquisa.errors import FixInput

DOCS = [
    IndexDocument("d1", "https://rpp.pe/1", "rpp", "Fiscalía denuncia corrupción en Provías",
                  "El Ministerio Público investiga colusión y lavado de activos en obras viales.",
                  "2026-09-10T10:00:00-05:00"),
    IndexDocument("d2", "https://elcomercio.pe/2", "elcomercio", "Extorsión en Trujillo",
                  "La banda Los Pulpos cobra cupos a transportistas; la corrupción policial "
                  "agrava el problema.", "2026-10-01T08:00:00-05:00"),
    IndexDocument("d3", "https://larepublica.pe/3", "larepublica", "Minería ilegal en Pataz",
                  "Sicarios atacan un socavón. Texto con <script>alert(1)</script> incrustado.",
                  "2026-11-05T19:30:00-05:00"),
    IndexDocument("d4", "https://rpp.pe/4", "rpp", "Congreso debate ley",
                  "El pleno discute cambios a la ley contra el crimen organizado y el "
                  "lavado de dinero.", None),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteIndex]:
    ix = SqliteIndex(tmp_path / "index.sqlite")
    ix.upsert(DOCS)
    yield ix
    ix.close()


def ids(index: SqliteIndex, query: str, **kw: object) -> set[str]:
    return {hit.id for hit in index.search(query, limit=100, **kw).hits}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("corrupcion", {"d1", "d2"}),            # accent-insensitive
        ("CORRUPCIÓN", {"d1", "d2"}),
        ("corrupción AND pulpos", {"d2"}),
        ("corrupción pulpos", {"d2"}),           # implicit AND
        ("pulpos OR pataz", {"d2", "d3"}),
        ("corrupción NOT pulpos", {"d1"}),
        ("corrupción -pulpos", {"d1"}),
        ("NOT corrupción", {"d3", "d4"}),
        ('"lavado de activos"', {"d1"}),
        ('"lavado activos"~2', {"d1"}),
        ('"lavado activos"~1', {"d1"}),
        ('"lavado activos"~0', set()),            # "de" stands between them
        ('"lavado activos"~99999999999999999999', {"d1"}),
        ("title:(NOT corrupción)", {"d2", "d3", "d4"}),  # negation stays inside the field
        ("title:(-corrupción)", {"d2", "d3", "d4"}),
        ("text:(corrupción -pulpos)", set()),
        ("corrupción – provías", {"d1"}),        # pasted punctuation is not a word
        ("Extorsión | Trujillo", {"d2"}),
        ("corrupción _", {"d1", "d2"}),           # "_" is a separator for FTS5 too
        ("lava*", {"d1", "d4"}),
        ("title:corrupcion", {"d1"}),
        ("text:corrupcion", {"d2"}),
        ("source:rpp", {"d1", "d4"}),
        ("source:rpp AND lavado", {"d1", "d4"}),
        ("(source:rpp OR pataz) AND NOT congreso", {"d1", "d3"}),
        ("source:rp*", {"d1", "d4"}),
        ("nadaqueencontrar", set()),
    ],
)
def test_queries(index: SqliteIndex, query: str, expected: set[str]) -> None:
    assert ids(index, query) == expected
    assert index.search(query).total == len(expected)


def test_upsert_keeps_one_copy_per_id(index: SqliteIndex) -> None:
    index.upsert(DOCS[:2])
    index.upsert([IndexDocument("d1", "https://rpp.pe/1", "rpp", "Título nuevo", "huaico", None)])
    assert index.count() == 4
    assert ids(index, "huaico") == {"d1"}
    assert ids(index, "provias") == set()  # the old text left the FTS index too
    db = sqlite3.connect(index.path, isolation_level=None)
    db.execute("INSERT INTO docs_fts(docs_fts) VALUES ('integrity-check')")  # raises if corrupt
    db.close()
    index.delete(["d1"])
    assert index.count() == 3 and ids(index, "huaico") == set()


def test_title_weighs_more_than_body(index: SqliteIndex) -> None:
    hits = index.search("corrupción").hits
    assert [h.id for h in hits] == ["d1", "d2"]  # d1 has it in the title


def test_sort_by_date_and_paging(index: SqliteIndex) -> None:
    by_date = [h.id for h in index.search("NOT nadaqueencontrar", sort="date").hits]
    assert by_date[:3] == ["d3", "d2", "d1"]
    page = index.search("NOT nadaqueencontrar", limit=2, offset=2, sort="date")
    assert page.total == 4 and len(page.hits) == 2


def test_snippets_are_escaped_and_marked(index: SqliteIndex) -> None:
    (hit,) = index.search("sicarios").hits
    assert "<mark>Sicarios</mark>" in hit.snippet
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet


def test_json_shape(index: SqliteIndex) -> None:
    data = index.search("pataz").to_json()
    assert data["total"] == 1
    assert set(data["hits"][0]) == {"id", "url", "title", "published", "source", "snippet",
                                     "duplicates"}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("a AND (", "E501"),
        ('"sin cerrar', "E501"),
        ("", "E501"),
        ("autor:gorriti", "E502"),
        ("co?rupcion", "E502"),
        ("*", "E502"),
        ("lavado~2", "E502"),
        ("lima && trujillo", "E502"),
        ("!lima", "E502"),
        ("– |", "E502"),
        ("_", "E502"),
        ("lima\x00", "E501"),
        ("published:[2024-01-01 TO 2024-06-30]", "E502"),
    ],
)
def test_bad_queries_are_clear_errors(index: SqliteIndex, query: str, code: str) -> None:
    with pytest.raises(FixInput) as caught:
        index.search(query)
    assert caught.value.code == code
    assert "\n" not in caught.value.message


def test_malformed_query_points_at_the_problem() -> None:
    with pytest.raises(FixInput) as caught:
        parse("fiscal AND (lavado OR")
    assert caught.value.params["pos"] == len("fiscal AND (lavado OR")


def test_snippet_window_holds_the_most_query_words(tmp_path: Path) -> None:
    ix = SqliteIndex(tmp_path / "i.sqlite")
    filler = "relleno " * 60
    text = f"Inicio de la nota. {filler} La red de lavado de activos operaba en Lima. {filler}"
    ix.upsert([IndexDocument("x", "https://x.pe/1", "x", "Titular", text, None)])
    (hit,) = ix.search("lavado de activos").hits
    assert "<mark>lavado</mark> <mark>de</mark> <mark>activos</mark>" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet) < 400
    ix.close()


@pytest.mark.parametrize(
    "marked",
    [
        "x" * 500 + "\x02lima\x03" + "y" * 500,  # no spaces at all
        "a " * 100 + "\x02lavado de activos en la red criminal del puerto\x03 " + "b " * 60
        + "\x02fiscal\x03 " + "c " * 20 + "\x02juez\x03 " + "d " * 200,  # long phrase mark
        "a " * 50 + "\x02lavado de activos en la red criminal del puerto del callao\x03 "
        + "b " * 20 + "\x02fiscal\x03 \x02juez\x03 \x02alcalde\x03 " + "d " * 200,  # cut in a mark
        "\x02Lima\x03",
        "",
        "sin marcas " * 80,
    ],
)
def test_snippet_windows_are_bounded_and_balanced(marked: str) -> None:
    snippet = _snippet(marked)
    assert snippet.count("<mark>") == snippet.count("</mark>")
    assert snippet.find("</mark>") >= snippet.find("<mark>")
    assert len(snippet) <= SNIPPET_BEFORE + SNIPPET_AFTER + 2 * WORD_SLACK + 80
    assert "\x02" not in snippet and "\x03" not in snippet
