"""Snippets (indexer/highlight.py): what a query marks, how the text is escaped and windowed.

Both backends make their snippets here, from the original text and the query plan, so these
tests hold for either; tests/test_search_parity.py checks the snippets they return agree.
"""

from __future__ import annotations

import re

import pytest

from indexer import highlight
from indexer.highlight import Highlighter
from indexer.query import plan


def snippet(query: str, text: str) -> str:
    return Highlighter(plan(query)).snippet(text)


def visible(html_snippet: str) -> str:
    return re.sub(r"</?mark>", "", html_snippet)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # stems: every form of the word, accents and case as written
        ("extorsión", "Extorsiones y extorsionadores: la extorsión.",
         "<mark>Extorsiones</mark> y <mark>extorsionadores</mark>: la <mark>extorsión</mark>."),
        ("fiscalia", "La Fiscalía y el fiscal.", "La <mark>Fiscalía</mark> y el fiscal."),
        ("FISCALES", "La Fiscalía y el fiscal.", "La Fiscalía y el <mark>fiscal</mark>."),
        # whole words only
        ("pulpos", "Pulposería Pulpos", "Pulposería <mark>Pulpos</mark>"),
        # prefixes, on the unstemmed word
        ("lav*", "La lavandería y el lavado; clave.",
         "La <mark>lavandería</mark> y el <mark>lavado</mark>; clave."),
        ("lavados*", "Lavado, lavados y lavaron.", "Lavado, <mark>lavados</mark> y lavaron."),
        ("LÁV*", "Lavó", "<mark>Lavó</mark>"),
        # not what the query negates
        ("pulpos -trujillo", "Los Pulpos extorsionan en Trujillo.",
         "Los <mark>Pulpos</mark> extorsionan en Trujillo."),
        ("pulpos NOT (trujillo OR chimbote)", "Pulpos de Trujillo y Chimbote",
         "<mark>Pulpos</mark> de Trujillo y Chimbote"),
        ('NOT (congreso AND -"poder judicial")', "El Poder Judicial y el Congreso",
         "El <mark>Poder</mark> <mark>Judicial</mark> y el Congreso"),
        # keyword and date filters mark nothing
        ("pulpos source:rpp entity:rpp", "Los Pulpos y RPP", "Los <mark>Pulpos</mark> y RPP"),
        # stop words of a phrase are not marked on their own...
        ('"lavado de activos"', "El lavado de activos de la banda",
         "El <mark>lavado</mark> de <mark>activos</mark> de la banda"),
        ('"ministerio del interior" ', "Ministerio del Interior del Perú",
         "<mark>Ministerio</mark> del <mark>Interior</mark> del Perú"),
        # ...unless the query has nothing else
        ('"de la"', "El lavado de activos de la banda",
         "El lavado <mark>de</mark> activos <mark>de</mark> <mark>la</mark> banda"),
        ("de", "Lavado de activos", "Lavado <mark>de</mark> activos"),
        # white space collapses to one space
        ("pulpos", "Los\n\nPulpos\tcobran  cupos", "Los <mark>Pulpos</mark> cobran cupos"),
    ],
)
def test_marks(query: str, text: str, expected: str) -> None:
    assert snippet(query, text) == expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("fiscalía", 'Dijo: <i>Fiscalía</i> & "PNP" > 2',
         'Dijo: &lt;i&gt;<mark>Fiscalía</mark>&lt;/i&gt; &amp; "PNP" &gt; 2'),
        ("falso", "<mark>falso</mark> <script>alert(1)</script>",
         "&lt;mark&gt;<mark>falso</mark>&lt;/mark&gt; &lt;script&gt;alert(1)&lt;/script&gt;"),
        ("amp", "R&amp;D amp", "R&amp;<mark>amp</mark>;D <mark>amp</mark>"),
        ("source:rpp", "a < b & c", "a &lt; b &amp; c"),
    ],
)
def test_escapes_html(query: str, text: str, expected: str) -> None:
    assert snippet(query, text) == expected


def test_only_mark_tags_are_html() -> None:
    text = "<b>Los Pulpos</b> & <img src=x onerror=alert(1)> cobran <mark>cupos</mark>"
    result = snippet("pulpos cupos", text)
    assert result.count("<mark>") == result.count("</mark>") == 2
    assert "<" not in visible(result)
    assert visible(result) == (
        "&lt;b&gt;Los Pulpos&lt;/b&gt; &amp; &lt;img src=x onerror=alert(1)&gt; cobran "
        "&lt;mark&gt;cupos&lt;/mark&gt;")


FILLER = "palabra " * 50  # 400 characters without a match


def test_window_on_the_densest_area() -> None:
    # one "Pulpos" at the start, then "Trujillo" and "Pulpos" side by side 400 characters on
    text = "Pulpos " + FILLER + "Trujillo y Pulpos juntos. " + FILLER
    result = snippet("pulpos trujillo", text)
    assert result.startswith("…palabra ")
    assert result.endswith("…")
    assert "<mark>Trujillo</mark> y <mark>Pulpos</mark> juntos." in result
    assert result.count("<mark>") == 2  # the lone first "Pulpos" is out of the window
    before, _, after = visible(result).strip("…").partition("Trujillo")
    assert highlight.SNIPPET_BEFORE <= len(before) \
        <= highlight.SNIPPET_BEFORE + highlight.WORD_SLACK
    assert len(after) <= highlight.SNIPPET_AFTER + highlight.WORD_SLACK


def test_distinct_words_beat_repeats() -> None:
    # three "Pulpos" close together first, then "Pulpos" beside "Trujillo": two distinct words
    text = "Pulpos, Pulpos, Pulpos. " + FILLER + "En Trujillo, Pulpos. " + FILLER
    result = snippet("pulpos trujillo", text)
    assert "<mark>Trujillo</mark>, <mark>Pulpos</mark>" in result
    assert "Pulpos, Pulpos" not in visible(result)


def test_earliest_window_on_ties() -> None:
    text = "Pulpos " + FILLER + "Pulpos " + FILLER
    result = snippet("pulpos", text)
    assert result.startswith("<mark>Pulpos</mark> palabra")
    assert result.endswith("…")


def test_ellipses() -> None:
    short = "La banda Los Pulpos."
    assert snippet("pulpos", short) == "La banda Los <mark>Pulpos</mark>."
    late = FILLER + "Pulpos."
    result = snippet("pulpos", late)
    assert result.startswith("…") and not result.endswith("…")
    assert result.endswith("<mark>Pulpos</mark>.")
    early = "Pulpos " + FILLER
    result = snippet("pulpos", early)
    assert result.startswith("<mark>Pulpos</mark>") and result.endswith("…")
    assert snippet("pulpos", "") == ""


def test_cuts_at_word_boundaries() -> None:
    result = snippet("pulpos", FILLER + "Pulpos " + FILLER)
    for word in visible(result).strip("…").split():
        assert word in ("palabra", "Pulpos")


def test_without_a_match_the_opening() -> None:
    text = "Sin coincidencias aquí. " + FILLER
    result = snippet("source:rpp", text)
    assert result.startswith("Sin coincidencias aquí. palabra")
    assert result.endswith("…") and "<mark>" not in result
    assert len(visible(result)) <= highlight.SNIPPET_AFTER + highlight.WORD_SLACK + 1
    assert snippet("trujillo", text) == result


def test_long_text_is_scanned_only_so_far() -> None:
    text = "x " * (highlight.MAX_SCAN_CHARS // 2 + 10) + "Pulpos"
    result = snippet("pulpos", text)
    assert "<mark>" not in result
    assert result.startswith("x x x")


def test_a_word_without_spaces_is_cut() -> None:
    text = "Pulpos " + "a" * 5000
    result = snippet("pulpos", text)
    assert result.startswith("<mark>Pulpos</mark> aaa") and result.endswith("…")
    assert len(visible(result)) <= highlight.SNIPPET_AFTER + highlight.WORD_SLACK + 1
