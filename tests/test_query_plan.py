"""The query language lowered to the plan both backends compile (indexer/query.py -> plan.py).

Every construct of the language has its plan node written out by hand here; the backends'
parity suite (tests/test_search_parity.py) then checks what those nodes find.
"""

from __future__ import annotations

import pytest

from indexer import query
from indexer.plan import (
    And,
    DateRange,
    Keyword,
    MatchAll,
    Node,
    Not,
    Or,
    Prefix,
    Terms,
    TextField,
    has_text,
    positives,
)
from indexer.query import plan
from pesquisa.errors import FixInput


def t(*tokens: str, field: TextField = "all", slop: int | None = None) -> Terms:
    return Terms(field, tokens, slop)


def fails(text: str) -> FixInput:
    with pytest.raises(FixInput) as caught:
        plan(text)
    return caught.value


# --- terms, booleans, grouping -------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # one word: stemmed (Snowball Spanish), lowercased, accents folded
        ("lavado", t("lav")),
        ("Lavados", t("lav")),
        ("lavaron", t("lav")),
        ("extorsiones", t("extorsion")),
        ("CORRUPCIÓN", t("corrupcion")),
        ("corrupcion", t("corrupcion")),
        ("Fiscalía", t("fiscali")),
        ("FISCALÍA", t("fiscali")),
        ("ñandú", t("nandu")),
        # booleans
        ("fiscal AND juez", And((t("fiscal"), t("juez")))),
        ("fiscal juez", And((t("fiscal"), t("juez")))),  # side by side means AND
        ("+fiscal juez", And((t("fiscal"), t("juez")))),
        ("fiscal OR juez", Or((t("fiscal"), t("juez")))),
        ("NOT fiscal", Not(t("fiscal"))),
        ("-fiscal", Not(t("fiscal"))),
        ("fiscal -juez", And((t("fiscal"), Not(t("juez"))))),
        ("fiscal AND NOT juez", And((t("fiscal"), Not(t("juez"))))),
        ("-fiscal -juez", And((Not(t("fiscal")), Not(t("juez"))))),
        ("NOT (fiscal OR juez)", Not(Or((t("fiscal"), t("juez"))))),
        # AND binds tighter than OR; parentheses group
        ("fiscal OR juez AND congreso",
         Or((t("fiscal"), And((t("juez"), t("congres")))))),
        ("fiscal AND juez OR congreso",
         Or((And((t("fiscal"), t("juez"))), t("congres")))),
        ("(fiscal OR juez) AND congreso",
         And((Or((t("fiscal"), t("juez"))), t("congres")))),
        ("fiscal juez OR congreso", And((t("fiscal"), Or((t("juez"), t("congres")))))),
        ("(((((fiscal)))))", t("fiscal")),
        # boosts are accepted and ignored (relevance is the backends' own)
        ("fiscal^2", t("fiscal")),
        ('"fiscal juez"^3', t("fiscal", "juez")),
        # a word the analyzer splits is a phrase of its parts
        ("Covid-19", t("cov", "19")),
        ("fiscal\\:juez", t("fiscal", "juez")),
        # escaped * is a literal, not a wildcard (and not a letter)
        ("fiscal\\*", t("fiscal")),
        # symbols around words are separators
        ("🙂 fiscal", t("fiscal")),
        ("*", MatchAll()),
    ],
)
def test_terms_and_booleans(text: str, expected: Node) -> None:
    assert plan(text) == expected


# --- phrases, proximity, prefixes ----------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Poder Judicial"', t("pod", "judicial")),
        ('"lavado de activos"', t("lav", "de", "activ")),  # stop words kept in phrases
        ('"Ministerio DEL Interior"', t("ministeri", "del", "interior")),
        ('"lavado activos"~3', t("lav", "activ", slop=3)),
        ('"activos lavado"~0', t("activ", "lav", slop=0)),
        ('"lavado de activos"~3', t("lav", "de", "activ", slop=3)),
        ('"lavado activos"~1000', t("lav", "activ", slop=query.MAX_SLOP)),
        ('"lavado activos"~99999', t("lav", "activ", slop=query.MAX_SLOP)),  # capped
        ('"lavado"~3', t("lav")),  # one word: a term, no slop
        ('"  fiscal  "', t("fiscal")),
        # prefixes: folded, NOT stemmed ("lavados*" must still find "lavados")
        ("lav*", Prefix("all", "lav")),
        ("lavados*", Prefix("all", "lavados")),
        ("Lavado*", Prefix("all", "lavado")),
        ("LÁV*", Prefix("all", "lav")),
        ("extorsionad*", Prefix("all", "extorsionad")),
        ("de*", Prefix("all", "de")),  # a prefix is no stop word
    ],
)
def test_phrases_proximity_prefixes(text: str, expected: Node) -> None:
    assert plan(text) == expected


# --- fields --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title:fiscal", t("fiscal", field="title")),
        ("TITLE:fiscal", t("fiscal", field="title")),
        ("text:Fiscalía", t("fiscali", field="text")),
        ('title:"Poder Judicial"', t("pod", "judicial", field="title")),
        ('text:"lavado activos"~2', t("lav", "activ", field="text", slop=2)),
        ("title:lav*", Prefix("title", "lav")),
        ("title:(fiscal OR juez)",
         Or((t("fiscal", field="title"), t("juez", field="title")))),
        ("text:(lavado AND -activos)",
         And((t("lav", field="text"), Not(t("activ", field="text"))))),
        ('title:(Fiscalía OR "Poder Judicial")',
         Or((t("fiscali", field="title"), t("pod", "judicial", field="title")))),
        # keyword fields: folded and lowercased, never stemmed
        ("source:RPP", Keyword("source", "rpp")),
        ("source:mpfn-noticias", Keyword("source", "mpfn-noticias")),
        ('source:"El Comercio"', Keyword("source", "el comercio")),
        ("source:rp*", Keyword("source", "rp", prefix=True)),
        ('source:(rpp OR "La República")',
         Or((Keyword("source", "rpp"), Keyword("source", "la republica")))),
        ("-source:rpp", Not(Keyword("source", "rpp"))),
        ('entity:"Dina Boluarte"', Keyword("entity", "dina boluarte")),
        ('entity:"Boluarte  Zegarra"', Keyword("entity", "boluarte zegarra")),
        ("entity:PNP", Keyword("entity", "pnp")),
        ('entity:"official:dina-boluarte"', Keyword("entity", "official:dina-boluarte")),
        ("entity:official:dina-boluarte", Keyword("entity", "official:dina-boluarte")),
        ("entity:official\\:dina-boluarte", Keyword("entity", "official:dina-boluarte")),
        ("entity:dina*", Keyword("entity", "dina", prefix=True)),
        ("entity:official:*", Keyword("entity", "official:", prefix=True)),
        ("kind:official", Keyword("kind", "official")),
        ("kind:Crime_Group", Keyword("kind", "crime_group")),
        ("kind:off*", Keyword("kind", "off", prefix=True)),
        ("crime:extorsion", Keyword("crime", "extorsion")),
        ("crime:Extorsión", Keyword("crime", "extorsion")),
        ("crime:lavado_activos", Keyword("crime", "lavado_activos")),
        ("crime:lavado-activos", Keyword("crime", "lavado_activos")),
        ('crime:"lavado activos"', Keyword("crime", "lavado_activos")),
        ("crime:extor*", Keyword("crime", "extor", prefix=True)),
    ],
)
def test_fields(text: str, expected: Node) -> None:
    assert plan(text) == expected


# --- dates ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("published:[2024-01-01 TO 2024-06-30]", "2024-01-01", "2024-06-30"),
        ("published:[2024-01-15 TO 2024-01-15]", "2024-01-15", "2024-01-15"),
        ("published:2024-01-15", "2024-01-15", "2024-01-15"),
        ('published:"2024-05-01"', "2024-05-01", "2024-05-01"),
        ("published:2024-1-5", "2024-01-05", "2024-01-05"),
        ("PUBLISHED:2024-01-15", "2024-01-15", "2024-01-15"),
        # exclusive ends move one day in
        ("published:{2024-01-01 TO 2024-06-30}", "2024-01-02", "2024-06-29"),
        ("published:[2024-01-01 TO 2024-06-30}", "2024-01-01", "2024-06-29"),
        ("published:{2024-01-01 TO 2024-01-03}", "2024-01-02", "2024-01-02"),
        # YYYY and YYYY-MM: their first day at the start, their last day at the end
        ("published:2024-05", "2024-05-01", "2024-05-31"),
        ("published:2024-02", "2024-02-01", "2024-02-29"),  # leap year
        ("published:2023-02", "2023-02-01", "2023-02-28"),
        ("published:2024", "2024-01-01", "2024-12-31"),
        ("published:[2024-01 TO 2024-03]", "2024-01-01", "2024-03-31"),
        ("published:[2024 TO 2024]", "2024-01-01", "2024-12-31"),
        # an exclusive partial date excludes all of it
        ("published:{2024-01 TO 2024-03}", "2024-02-01", "2024-02-29"),
        ("published:{2023 TO 2025}", "2024-01-01", "2024-12-31"),
        # open ends
        ("published:[* TO 2024-03]", None, "2024-03-31"),
        ("published:[2024-03 TO *]", "2024-03-01", None),
        ("published:{* TO 2024}", None, "2023-12-31"),
        ("published:{2024 TO *}", "2025-01-01", None),
        ("published:>=2024", "2024-01-01", None),
        ("published:>2024-01-31", "2024-02-01", None),
        ("published:>2024-01", "2024-02-01", None),
        ("published:<2024-02", None, "2024-01-31"),
        ("published:<=2024-02", None, "2024-02-29"),
        ("published:<2024-01-01", None, "2023-12-31"),
    ],
)
def test_dates(text: str, start: str | None, end: str | None) -> None:
    assert plan(text) == DateRange(start, end)


def test_dates_combine_with_text_and_each_other() -> None:
    assert plan("published:[2024-01-01 TO 2024-06-30] fiscal") == And(
        (DateRange("2024-01-01", "2024-06-30"), t("fiscal")))
    assert plan("fiscal AND published:>=2024-03") == And(
        (t("fiscal"), DateRange("2024-03-01", None)))
    assert plan("published:([2024-01 TO 2024-02] OR 2024-06)") == Or(
        (DateRange("2024-01-01", "2024-02-29"), DateRange("2024-06-01", "2024-06-30")))
    assert plan("NOT published:2024-03") == Not(DateRange("2024-03-01", "2024-03-31"))


@pytest.mark.parametrize(
    "text",
    [
        "published:hoy",
        'published:"hoy"',
        "published:2024-13",
        "published:2024-00",
        "published:2023-02-29",
        "published:[2024-01-01 TO 2024-02-30]",
        "published:[0000 TO 2024]",
        "published:99999",
        "published:[10000 TO *]",
        "published:2024-01-01T00:00",
        "published:[2024-01-01T00:00 TO *]",
        "published:2024*",
        "published:[a TO b]",
        "published:(fiscal)",
        'published:"2024-01-01 TO 2024-02-01"',
    ],
)
def test_bad_dates(text: str) -> None:
    error = fails(text)
    assert error.code == "E502"
    assert "not a date" in error.message


@pytest.mark.parametrize(
    "text",
    [
        "published:[2024-06 TO 2024-01]",
        "published:[2024-01-02 TO 2024-01-01]",
        "published:{2024-01-01 TO 2024-01-02}",  # nothing strictly between two next days
        "published:{2024-01-01 TO 2024-01-01]",
        "published:{2024 TO 2024}",
    ],
)
def test_empty_date_ranges(text: str) -> None:
    error = fails(text)
    assert error.code == "E502"
    assert "empty date range" in error.message


@pytest.mark.parametrize(
    "text",
    [
        "published:>9999-12-31",
        "published:<0001-01-01",
        "published:[0001-01-01 TO 0001-01-01}",
        "published:{9999-12-31 TO *]",
    ],
)
def test_dates_at_the_ends_of_the_calendar(text: str) -> None:
    """A bound moved past the first or last representable day: a FixInput, not a crash."""
    try:
        node = plan(text)
    except FixInput as error:
        assert error.code == "E502"
    else:
        assert isinstance(node, DateRange)


def test_ranges_only_on_published() -> None:
    for text in ("title:[a TO b]", "[a TO b]", "source:[a TO z]", "title:[* TO *]"):
        error = fails(text)
        assert (error.code, "ranges apply to published" in error.message) == ("E502", True)


# --- stop words ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # dropped from bare terms
        ("fiscal de", t("fiscal")),
        ("de AND fiscal", t("fiscal")),
        ("lavado de activos", And((t("lav"), t("activ")))),
        ("title:(de OR fiscal)", t("fiscal", field="title")),
        ("fiscal OR (la AND el)", t("fiscal")),
        ("fiscal -la", t("fiscal")),
        ("title:(x OR (y AND (z)))", Or((t("x", field="title"), t("z", field="title")))),
        ("tren de, aragua", And((t("tren"), t("aragu")))),  # punctuation is no word
        ("fiscal de.", t("fiscal")),
        # kept inside phrases, even alone
        ('"lavado de activos"', t("lav", "de", "activ")),
        ('"de la"', t("de", "la")),
        ('"de"', t("de")),
        ('fiscal "de"', And((t("fiscal"), t("de")))),
        # kept when the query is only stop words
        ("de", t("de")),
        ("De", t("de")),
        ("el de la", And((t("el"), t("de"), t("la")))),
        ("el OR de", Or((t("el"), t("de")))),
        ("NOT el", Not(t("el"))),
        ("-de", Not(t("de"))),
        ("title:el", t("el", field="title")),
        ("ÉL", t("el")),  # a stop word once folded
    ],
)
def test_stop_words(text: str, expected: Node) -> None:
    assert plan(text) == expected


# --- what the language does not support: E502 ---------------------------------------------

@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("foo:bar", "unknown field 'foo'"),
        ("a:b:c", "unknown field 'a'"),
        ("*:fiscal", "unknown field '*'"),
        ("fiscal:*", "unknown field 'fiscal'"),
        ("title:(fiscal AND text:juez)", "field 'text' inside field 'title'"),
        ("kind:banana", "unknown kind 'banana'"),
        ("kind:person_of_interest", "unknown kind"),
        ("source:*", "source: needs a value"),
        ("entity:*", "entity: needs a value"),
        ('source:"   "', "source: needs a value"),
        ("crime:*", "crime: needs a value"),
        ("fiscal~2", "fuzzy terms"),
        ("fiscal~", "fuzzy terms"),
        ("fiscal~0.5", "fuzzy terms"),
        ("/fis.*/", "regular expressions"),
        ("fis?al", "only suffix wildcards"),
        ("a?", "only suffix wildcards"),
        ("f*l", "only suffix wildcards"),
        ("*cal", "only suffix wildcards"),
        ("kind:**", "only suffix wildcards"),
        ("l*", "a wildcard needs 2 letters"),
        ("title:a*", "a wildcard needs 2 letters"),
        ("fiscal && juez", "write AND instead of &&"),
        ("fiscal || juez", "write OR instead of ||"),
        ("!fiscal", "write NOT (or -) instead of !"),
        ("🙂", "no letters or digits"),
        ('""', "no letters or digits"),
        ("title:*", "no letters or digits"),
        ("\\*", "no letters or digits"),
    ],
)
def test_unsupported(text: str, says: str) -> None:
    error = fails(text)
    assert error.code == "E502"
    assert says in error.message


@pytest.mark.parametrize(
    "text",
    ['entity:"Dina Boluarte"~2', 'source:"rpp andina"~3', 'kind:"official"~1',
     'crime:"extorsion"~2'],
)
def test_proximity_on_keyword_fields_is_unsupported(text: str) -> None:
    """Proximity means words in a text; on a keyword field it is a FixInput, not a crash."""
    try:
        node = plan(text)
    except FixInput as error:
        assert error.code == "E502"
    else:
        assert isinstance(node, Keyword)


# --- syntax errors: E501 with the position -------------------------------------------------

@pytest.mark.parametrize(
    ("text", "pos"),
    [
        ("fiscal AND", 10),  # at the end
        ("AND fiscal", 0),
        ("(fiscal", 7),
        ("fiscal)", 6),
        ('"fiscal', 0),  # the unclosed quote
        ('fiscal "juez', 7),
        ("fiscal OR OR juez", 10),  # the second OR
        ("title:", 6),
        (":fiscal", 0),
        ("fiscal AND (juez OR", 19),
        ("()", 1),
        ("NOT", 3),
        ("fiscal\\", 6),
        ("fiscal\x00juez", 6),  # control character
        ("fiscal\x1bjuez", 6),
        ("", 0),
        ("      ", 0),
    ],
)
def test_syntax_error_positions(text: str, pos: int) -> None:
    error = fails(text)
    assert error.code == "E501"
    assert error.params["pos"] == pos
    assert error.message.startswith(f"[E501] malformed query at position {pos}: ")
    assert "\n" not in error.message


@pytest.mark.parametrize(("text", "pos"), [("   fiscal)", 9), ("\tfiscal AND (", 13)])
def test_syntax_error_positions_count_leading_spaces(text: str, pos: int) -> None:
    """The position points into the query as the user typed it, leading spaces included."""
    assert fails(text).params["pos"] == pos


# --- limits --------------------------------------------------------------------------------

def test_nesting_limit() -> None:
    deepest = "(" * query.MAX_DEPTH + "fiscal" + ")" * query.MAX_DEPTH
    assert plan(deepest) == t("fiscal")
    too_deep = "(" * (query.MAX_DEPTH + 1) + "fiscal" + ")" * (query.MAX_DEPTH + 1)
    error = fails(too_deep)
    assert (error.code, error.params["pos"]) == ("E501", query.MAX_DEPTH)
    # depth counts open parentheses, not their total
    siblings = " OR ".join(["(fiscal)"] * 40)
    assert plan(siblings) == Or(tuple([t("fiscal")] * 40))


@pytest.mark.parametrize("operator", ["NOT ", "-", "+", "NOT -"])
def test_chained_prefix_operators(operator: str) -> None:
    """Hundreds of NOT/-/+ in a row nest as deep as parentheses would: an error or a plan,
    never a RecursionError (the backends compile the plan recursively too)."""
    text = operator * (query.MAX_QUERY_CHARS // len(operator) - 2) + "x"
    text = text[-query.MAX_QUERY_CHARS:]
    try:
        node = plan(text)
    except FixInput as error:
        assert error.code in ("E501", "E502")
    else:
        assert _depth(node) <= query.MAX_DEPTH + 2


def _depth(node: Node) -> int:
    if isinstance(node, And | Or):
        return 1 + max(_depth(child) for child in node.children)
    if isinstance(node, Not):
        return 1 + _depth(node.child)
    return 1


def test_clause_limit() -> None:
    words = [f"w{i}" for i in range(query.MAX_CLAUSES)]
    assert plan(" ".join(words)) == And(tuple(t(w) for w in words))
    error = fails(" ".join([*words, "extra"]))
    assert error.code == "E502"
    assert f"{query.MAX_CLAUSES + 1} terms and filters" in error.message
    # filters count too, and stop words dropped from the query do not
    mixed = words[:200] + ["source:a"] * (query.MAX_CLAUSES + 1 - 200)
    assert len(" ".join(mixed)) < query.MAX_QUERY_CHARS
    assert fails(" ".join(mixed)).code == "E502"
    assert isinstance(plan(" ".join([*words, "de", "la"])), And)


def test_length_limit() -> None:
    longest = "x" * query.MAX_QUERY_CHARS
    assert isinstance(plan(longest), Terms)
    error = fails("x" * (query.MAX_QUERY_CHARS + 1))
    assert (error.code, error.params["pos"]) == ("E501", query.MAX_QUERY_CHARS)


def test_long_words_are_cut_like_the_index_cuts_them() -> None:
    node = plan("y" * 500)
    assert isinstance(node, Terms)
    assert len(node.tokens[0]) <= 64


# --- what the highlighter and the sort take from a plan ------------------------------------

def test_positives_skip_negated_parts() -> None:
    tree = plan('fiscal -juez lav* NOT (congreso AND -"poder judicial") source:rpp')
    assert list(positives(tree)) == [
        t("fiscal"), Prefix("all", "lav"), t("pod", "judicial")]
    assert has_text(tree)
    assert not has_text(plan("source:rpp published:2024 -fiscal"))
    assert not has_text(plan("*"))


def test_escaped_quotes_inside_phrases_are_unescaped() -> None:
    assert plan(r'entity:"Los \"Pulpos\""') == Keyword("entity", 'los "pulpos"')
    assert plan(r'"la \"Gran\" Red"~3') == Terms("all", ("la", "gran", "red"), 3)
