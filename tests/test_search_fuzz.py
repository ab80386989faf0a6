"""Random and hostile query strings against both backends: never an internal error, and the
same answer from each.

Every query must either return a SearchResult or raise FixInput E501/E502; anything else
(an Elasticsearch error, an sqlite3 error, a RecursionError, a KeyError...) fails. A query one
backend accepts, the other must accept too, with the same total, the same hits and the same
facets. Hypothesis runs derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer import query
from indexer.base import IndexBackend
from pesquisa.errors import FixInput
from tests.search_corpus import BACKENDS, DOCS, built_index, doc, ent

# One more document for the fuzz only: characters that Unicode folding changes into something
# else (case, separators), and the same published time as n01 (ties in a date sort).
ODD = doc(
    "z01", "rpp", "2024-01-08T09:15:00-05:00", "𝔉𝔦𝔰𝔠𝔞𝔩 Ⅻ ﬁscal",
    "¼ de kilo, ŀ, ϒ, ⒈, ᦰ, İstanbul, ǅ, ﷺ y 𝔉𝔦𝔰𝔠𝔞𝔩 en el 𝔗𝔯𝔢𝔫 de Aragua.",
    [ent(("official:z-fiscal", "𝔉𝔦𝔰𝔠𝔞𝔩 Ⅻ", "official"), "ŀ ϒ")], ["extorsion"],
)
CORPUS = (*DOCS, ODD)
CLUSTER = {d.id: d.cluster or d.id for d in CORPUS}

EXAMPLES = 300

FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def indexes(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, IndexBackend]]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    url = request.getfixturevalue("es_url")
    with ExitStack() as stack:
        yield {name: stack.enter_context(built_index(name, root / name, url, CORPUS))
               for name in BACKENDS}


Outcome = tuple[Any, ...]


def outcome(index: IndexBackend, text: str) -> Outcome:
    """What a backend answers, in a form to compare with the other backend's answer."""
    try:
        by_date = index.search(text, limit=100, sort="date", facets=True, interval="week")
        by_relevance = index.search(text, limit=100, offset=1)
    except FixInput as error:
        assert error.code in ("E501", "E502"), error.message
        assert "\n" not in error.message
        return ("error", error.code)
    assert by_relevance.total == by_date.total
    assert len(by_date.hits) == min(by_date.total, 100)
    clusters = sorted(CLUSTER[hit.id] for hit in by_date.hits)
    ranked = {CLUSTER[hit.id] for hit in by_relevance.hits}
    assert ranked <= set(clusters)
    assert len(ranked) == max(0, min(by_date.total, 100) - 1)
    return ("ok", by_date.to_json())


def check(indexes: dict[str, IndexBackend], text: str) -> None:
    answers = {name: outcome(index, text) for name, index in indexes.items()}
    sqlite, elastic = answers["sqlite"], answers["elasticsearch"]
    assert sqlite == elastic, f"backends disagree on {text!r}"


# --- random strings from the syntax's own characters and words -----------------------------

PIECES = [
    *"()\"*~:[]{}^+-!\\/?&|<>=,.;'#%$@_ ",
    " ", " ", " ", "\t", "\n",
    " AND ", " OR ", " NOT ", " TO ", "AND", "OR", "NOT", "TO", "&&", "||", "and", "or",
    "title:", "text:", "source:", "entity:", "kind:", "crime:", "published:", "TITLE:",
    "foo:", "_exists_:", "*:", "official:", "crime_group", "dina-boluarte",
    "0", "1", "9", "42", "2024", "2024-01", "2024-02-29", "2023-02-29", "2024-13-45", "9999",
    "0000", "99999999999999999999",
    "lavado", "activos", "Fiscalía", "PULPOS", "trujillo", "extorsión", "de", "la", "el", "y",
    "ñandú", "Ñ", "é", "ü", "ç", "ß", "İ", "ﬁ", "Ⅻ", "٣", "中文", "ğ", "\u0301", "\u200b",
    "\u202e", "\ufeff", "🙂", "👩‍⚖️", "𝔉𝔦𝔰𝔠𝔞𝔩", "¼", "ŀ", "ϒ", "⒈", "ᦰ", "ǅ", "ﷺ", "ﬁ",
    "a" * 70, "lav" * 40, "(" * 10, ")" * 10, "(" * 40, "~1000000", "~-1", "^1e9",
]

random_pieces = st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map("".join)
random_text = st.text(max_size=80)


@FUZZ
@given(text=st.one_of(random_pieces, random_text))
def test_random_strings(indexes: dict[str, IndexBackend], text: str) -> None:
    check(indexes, text)


# --- a grammar: valid-ish queries composed from the language -------------------------------

WORDS = ["extorsión", "pulpos", "Trujillo", "lavado", "activos", "fiscal", "Fiscalía", "de",
         "la", "el", "Poder", "Judicial", "PNP", "Congreso", "sicariato", "sicarios", "cupos",
         "ñandú", "2024", "🙂", "aragua", "tren", "interior", "ministerio", "x" * 70]
PREFIXES = ["lav", "extorsionad", "fis", "de", "pu", "sicari", "a", "ñan", "19", "🙂"]
KEYWORDS = {
    "source": ["rpp", "RPP", "andina", "infobae*", "mpfn-noticias", "r*", "nada"],
    "entity": ['"Dina Boluarte"', "official:dina-boluarte", "official:*", "PNP", '"El Chino"',
               "dina*", '"crime_group:los-pulpos"', "nadie"],
    "kind": ["official", "crime_group", "place", "person", "off*", "banana"],
    "crime": ["extorsion", "lavado_activos", '"lavado activos"', "lavado*", "Extorsión", "nada"],
}
DATES = ["2023", "2024", "2024-01", "2024-02-29", "2024-04", "2024-06-30", "2023-02-29",
         "2024-13", "*", "0001-01-01", "9999-12-31"]

word = st.sampled_from(WORDS)
phrase = st.lists(word, min_size=1, max_size=4).map(lambda ws: '"' + " ".join(ws) + '"')
proximity = st.tuples(phrase, st.integers(0, 2000)).map(lambda p: f"{p[0]}~{p[1]}")
prefix = st.sampled_from(PREFIXES).map(lambda p: p + "*")
text_atom = st.one_of(word, phrase, proximity, prefix)
fielded = st.tuples(st.sampled_from(["title", "text", "TITLE"]), text_atom).map(":".join)
keyword = st.sampled_from([(f, v) for f, values in KEYWORDS.items() for v in values]).map(
    ":".join)
date = st.sampled_from(DATES)
date_range = st.tuples(st.sampled_from("[{"), date, date, st.sampled_from("]}")).map(
    lambda r: f"published:{r[0]}{r[1]} TO {r[2]}{r[3]}")
one_date = date.map(lambda d: f"published:{d}")
compared = st.tuples(st.sampled_from([">", ">=", "<", "<="]), date).map(
    lambda c: f"published:{c[0]}{c[1]}")
atom = st.one_of(text_atom, fielded, keyword, date_range, one_date, compared, st.just("*"))


def compose(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    operator = st.sampled_from([" AND ", " OR ", " ", " AND NOT ", " -", " +"])
    return st.one_of(
        st.tuples(inner, operator, inner).map("".join),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"NOT {e}"),
        inner.map(lambda e: f"-{e}"),
        st.tuples(st.sampled_from(["title", "text", "source", "published"]), inner).map(
            lambda f: f"{f[0]}:({f[1]})"),
    )


grammar = st.recursive(atom, compose, max_leaves=16)


@FUZZ
@given(text=grammar)
def test_grammar(indexes: dict[str, IndexBackend], text: str) -> None:
    check(indexes, text)


# --- known hostile strings -----------------------------------------------------------------

def nested(depth: int) -> str:
    """AND/OR/NOT nested `depth` parentheses deep: as deep as a query may go."""
    text = "pulpos"
    for level in range(depth):
        operator = ("AND", "OR", "AND NOT")[level % 3]
        text = f"(w{level} {operator} {text})"
    return text


HOSTILE = [
    "", " ", "\t\n", "*", "**", "***", "*:*", "?", "\\", "\\\\", '"', '"""', "'", "(", ")", "()",
    "[", "]", "{", "}", "[]", "{}", "~", "^", ":", "::", "!", "!!", "&&", "||", "/", "//", "-",
    "+", "--", "+-", "AND", "OR", "NOT", "TO", "AND OR NOT", "NOT NOT", "a AND", "OR a",
    "fiscal AND (juez OR", "fiscal)", '"fiscal', "title:", ":fiscal", "a:b:c",
    "(" * query.MAX_DEPTH + "x" + ")" * query.MAX_DEPTH,
    "(" * (query.MAX_DEPTH + 1) + "x" + ")" * (query.MAX_DEPTH + 1),
    "(" * 5000, ")" * 5000, nested(query.MAX_DEPTH), nested(query.MAX_DEPTH - 1),
    "NOT " * 400 + "fiscal", "-" * 1000 + "fiscal", "+" * 1000 + "fiscal", "NOT -" * 300 + "x",
    " ".join(f"w{i}" for i in range(query.MAX_CLAUSES)),
    " ".join(f"w{i}" for i in range(query.MAX_CLAUSES + 1)),
    " OR ".join(["fiscal"] * 300), " OR ".join(["de*"] * 200), " ".join(["lav*"] * 250),
    "x" * query.MAX_QUERY_CHARS, "x" * (query.MAX_QUERY_CHARS + 1), "a" * 100_000,
    '"lavado activos"~99999999999999999999999999', '"a b"~-1', '"a"~1', "fiscal~2", "fiscal~",
    "/fis.*/", "fis?al", "*cal", "f*l", "l*", "a*", "🙂", "🙂*", "ñ*", "title:*", "title:a*",
    'entity:"Dina Boluarte"~2', 'source:"a b"~3', 'kind:"official"~1', 'crime:"x"~1',
    "published:>9999-12-31", "published:<0001-01-01", "published:[0001-01-01 TO 0001-01-01}",
    "published:{9999-12-31 TO *]", "published:[* TO *]", "published:>=*", "published:*",
    "published:hoy", "published:[2024-06 TO 2024-01]", "published:2024-02-30",
    "published:[a TO b]", "title:[a TO b]", "[a TO b]", "published:(2024 OR 2023)",
    "source:*", "source:\\*", "entity:*", "entity:official:*", "entity:official\\:*", "kind:*",
    "kind:banana", "crime:*", "source:🙂", 'source:"   "', "source:" + "s" * 1990,
    "entity:" + "é" * 1990, "fiscal\x00", "\x1b[31m", "fiscal\ud800", "source:\ud800",
    'entity:"\udfff"', "\u202etexto\u202c", "\ufeff*", "title:(fiscal AND text:juez)",
    "_exists_:title", "title:(x OR (y AND (z)))", "fiscal^99999999999999999999", "fiscal^-1",
    "'; DROP TABLE docs; --", '" OR 1=1 --', "docs_fts:x", "title : x", "NEAR(a b, 1)",
    "a NEAR/2 b", "{\"query\": {\"match_all\": {}}}", "${jndi:ldap://x}", "%00", "<script>",
    "a^.", "a~.", '"a b"^.', '"a b"~.', "fiscal~\n2", "/a\nb/",
    # characters Unicode folding turns into capitals or separators
    "𝔉𝔦𝔰𝔠𝔞𝔩", "fiscal", "FISCAL", "Ⅻ", "xii", "¼", "1⁄4", "14", "ŀ", "l", "ϒ", "υ", "⒈", "ᦰ",
    "ǅ", "dz", "ﷺ", "ﬁscal", "𝔗𝔯𝔢𝔫", "tren", '"𝔗𝔯𝔢𝔫 de aragua"', "entity:\"𝔉𝔦𝔰𝔠𝔞𝔩 Ⅻ\"",
    'entity:"fiscal xii"', 'entity:"ŀ ϒ"', 'entity:"l· υ"', "entity:official:z*",
]


@pytest.mark.parametrize("text", HOSTILE, ids=[f"{i}:{t!r:.40}" for i, t in enumerate(HOSTILE)])
def test_hostile(indexes: dict[str, IndexBackend], text: str) -> None:
    check(indexes, text)


def test_hostile_strings_reach_the_backends(indexes: dict[str, IndexBackend]) -> None:
    """The fuzz is not vacuous: some hostile strings are valid searches, some are errors."""
    answers = [outcome(indexes["sqlite"], text)[0] for text in HOSTILE]
    assert answers.count("ok") >= 20 and answers.count("error") >= 40
