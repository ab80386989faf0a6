"""The query language: Lucene syntax parsed once, with luqum, and lowered to one plan.

`plan(query)` is the only entry point backends need: it parses, checks and analyzes the query
into the tree of `indexer/plan.py`, which `indexer/backends/*_query.py` compile. Errors are
FixInput: E501 for syntax (with the position), E502 for what the language does not support.

The language:
- `AND OR NOT` (also `+a`, `-a`), parentheses; words side by side mean AND;
- `"exact phrase"`, proximity `"a b"~5` (any order, at most 5 words between the first and the
  last, see `plan.Terms`), suffix wildcard `lav*`;
- text fields `title:` and `text:`; keyword fields `source:`, `entity:` (an entity id such as
  `entity:"official:dina-boluarte"`, a canonical name, or a name it appears under), `kind:`
  (official, person, institution, crime_group, organization, place), `crime:` (a crime-type
  code, e.g. `crime:extorsion`, `crime:lavado_activos`);
- dates `published:[2024-01-01 TO 2024-06-30]`, `published:2024-05`, `published:>=2024`,
  `{...}` for exclusive ends, `*` for an open one (days in Lima time);
- `*` alone: every document.
"""

from __future__ import annotations

import calendar
import re
import threading
from datetime import date, timedelta

from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser
from luqum.tree import (
    AndOperation,
    Boost,
    FieldGroup,
    From,
    Fuzzy,
    Group,
    Item,
    OrOperation,
    Phrase,
    Plus,
    Prohibit,
    Proximity,
    Range,
    Regex,
    SearchField,
    To,
    UnknownOperation,
    Word,
)
from luqum.tree import Not as LuqumNot

from indexer import analysis
from indexer.plan import (
    And,
    DateRange,
    Keyword,
    KeywordField,
    MatchAll,
    Node,
    Not,
    Or,
    Prefix,
    Terms,
    TextField,
)
from pesquisa.errors import FixInput

MAX_QUERY_CHARS = 2000
MAX_DEPTH = 24  # nested parentheses or operators (Elasticsearch refuses past 30 levels)
MAX_CLAUSES = 256  # terms, phrases and filters in one query
MAX_SLOP = 1000  # "a b"~N beyond this means "anywhere in the document" anyway
MIN_PREFIX = 2  # letters before a * (one letter would expand to most of the vocabulary)
ENTITY_KINDS = ("official", "person", "institution", "crime_group", "organization", "place")
TEXT_FIELDS: dict[str, TextField] = {"title": "title", "text": "text"}
KEYWORD_FIELDS: dict[str, KeywordField] = {
    "source": "source", "entity": "entity", "kind": "kind", "crime": "crime",
}
DATE_FIELDS = frozenset({"published"})
FIELDS = frozenset(TEXT_FIELDS) | frozenset(KEYWORD_FIELDS) | DATE_FIELDS

_lock = threading.Lock()  # luqum's PLY parser keeps state between calls
_OPERATOR_WORDS = {"&&": "AND", "||": "OR"}
_ESCAPE = re.compile(r"\\(.)", re.S)
_DAY = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse(query: str) -> Item:
    """Parse a query with luqum; a syntax problem raises E501 with its position."""
    text = query.rstrip()
    if not text.strip():
        raise FixInput("E501", pos=0, reason="empty query")
    if len(text) > MAX_QUERY_CHARS:
        raise FixInput("E501", pos=MAX_QUERY_CHARS, reason="query too long")
    bad = next((i for i, ch in enumerate(text) if ch < " " and ch not in "\t\n\r"), None)
    if bad is not None:
        raise FixInput("E501", pos=bad, reason="control character in query")
    bad = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:
        raise FixInput("E501", pos=bad, reason="invalid character (a lone surrogate)")
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth > MAX_DEPTH:
            raise FixInput("E501", pos=i, reason=f"more than {MAX_DEPTH} nested parentheses")
    try:
        with _lock:
            return parser.parse(text)
    except (IllegalCharacterError, ParseError, ValueError, TypeError, ArithmeticError,
            RecursionError) as exc:
        raise FixInput("E501", pos=_position(str(exc), text), reason=_reason(exc)) from None


def plan(query: str) -> Node:
    """Parse, check and analyze a query into the tree every backend compiles."""
    tree = parse(query)
    try:
        lowered = _Lowering(drop_stop_words=True).lower(tree)
        if lowered is None:  # only stop words: search for them after all
            lowered = _Lowering(drop_stop_words=False).lower(tree)
    except RecursionError:
        raise FixInput("E502", reason="query too deeply nested") from None
    if lowered is not None and _depth(lowered) > MAX_DEPTH:
        raise FixInput("E502", reason=f"more than {MAX_DEPTH} nested operators")
    if lowered is None:
        raise FixInput("E502", reason="the query has no letters or digits to search for")
    clauses = _count(lowered)
    if clauses > MAX_CLAUSES:
        raise FixInput("E502", reason=f"{clauses} terms and filters, more than {MAX_CLAUSES}")
    return lowered


def _depth(node: Node) -> int:
    if isinstance(node, And | Or):
        return 1 + max(_depth(child) for child in node.children)
    if isinstance(node, Not):
        return 1 + _depth(node.child)
    return 1


def _count(node: Node) -> int:
    if isinstance(node, And | Or):
        return sum(_count(child) for child in node.children)
    if isinstance(node, Not):
        return _count(node.child)
    return 1


class _Lowering:
    def __init__(self, drop_stop_words: bool) -> None:
        self.drop_stop_words = drop_stop_words

    def lower(self, node: Item, field: str | None = None) -> Node | None:
        if isinstance(node, SearchField):
            name = node.name.lower()
            if field in KEYWORD_FIELDS and isinstance(node.expr, Word):
                # entity:official:dina-boluarte — an id with a colon, written unquoted
                wildcard = node.expr.value.endswith("*")
                value = node.name + ":" + _ESCAPE.sub(r"\1", node.expr.value)
                return _keyword(KEYWORD_FIELDS[field], value.rstrip("*") if wildcard else value,
                                prefix=wildcard)
            if name not in FIELDS:
                known = ", ".join(sorted(FIELDS))
                raise FixInput("E502", reason=f"unknown field {node.name!r} (known: {known})")
            if field is not None:
                raise FixInput("E502", reason=f"field {node.name!r} inside field {field!r}")
            return self.lower(node.expr, name)
        if isinstance(node, Group | FieldGroup | Plus | Boost):
            return self.lower(node.children[0], field)
        if isinstance(node, LuqumNot | Prohibit):
            inner = self.lower(node.children[0], field)
            if isinstance(inner, Not):  # NOT NOT a is a
                return inner.child
            return None if inner is None else Not(inner)
        if isinstance(node, AndOperation | UnknownOperation | OrOperation):
            kept = [c for c in (self.lower(child, field) for child in node.children) if c]
            if len(kept) < 2:
                return kept[0] if kept else None
            kind = Or if isinstance(node, OrOperation) else And
            flat: list[Node] = []
            for child in kept:  # a AND (b AND c) is one AND of three
                flat.extend(child.children if isinstance(child, kind) else (child,))
            return kind(tuple(flat))
        if isinstance(node, Range | From | To) or field in DATE_FIELDS:
            return _dates(node, field)
        if isinstance(node, Fuzzy):
            raise FixInput("E502", reason=f"fuzzy terms ({_show(node)}) are not supported")
        if isinstance(node, Regex):
            raise FixInput("E502", reason=f"regular expressions ({_show(node)}) are not supported")
        if isinstance(node, Proximity):
            if not isinstance(node.term, Phrase):
                raise FixInput("E502", reason="proximity (~N) applies to a phrase in quotes")
            if field in KEYWORD_FIELDS:
                raise FixInput("E502", reason=f"proximity (~N) does not apply to {field}:")
            degree = 1 if node.degree is None else int(node.degree)
            return self.text(_unquote(node.term.value), field, slop=min(degree, MAX_SLOP))
        if isinstance(node, Phrase):
            value = _unquote(node.value)
            if field in KEYWORD_FIELDS:
                return _keyword(KEYWORD_FIELDS[field], value, prefix=False)
            return self.text(value, field, slop=None)
        if isinstance(node, Word):
            return self.word(node.value, field)
        raise FixInput("E502", reason=f"cannot search {_show(node)} here")

    def word(self, raw: str, field: str | None) -> Node | None:
        if raw in _OPERATOR_WORDS:
            raise FixInput("E502", reason=f"write {_OPERATOR_WORDS[raw]} instead of {raw}")
        if raw.startswith("!"):
            raise FixInput("E502", reason=f"write NOT (or -) instead of ! in {raw!r}")
        if raw == "*" and field is None:
            return MatchAll()
        value = _ESCAPE.sub(r"\1", raw)
        wildcard = raw.endswith("*") and not raw.endswith("\\*")
        stem = value[:-1] if wildcard else value
        if "?" in raw.replace("\\?", "") or ("*" in stem and "\\*" not in raw):
            raise FixInput("E502", reason=f"only suffix wildcards are supported: {raw!r}")
        if field in KEYWORD_FIELDS:
            return _keyword(KEYWORD_FIELDS[field], stem, prefix=wildcard)
        if wildcard:
            words = analysis.folded(stem)
            if not words:
                return None
            if len(words) > 1:
                raise FixInput("E502", reason=f"a wildcard applies to one word: {raw!r}")
            if len(words[0]) < MIN_PREFIX:
                raise FixInput(
                    "E502", reason=f"a wildcard needs {MIN_PREFIX} letters before it: {raw!r}")
            return Prefix(_text_field(field), words[0])
        return self.text(value, field, slop=None, bare=True)

    def text(self, value: str, field: str | None, slop: int | None,
             bare: bool = False) -> Node | None:
        tokens = analysis.stems(value)
        if not tokens:
            return None
        if bare and len(tokens) == 1 and self.drop_stop_words and analysis.is_stop_word(value):
            return None
        if len(tokens) == 1:
            slop = None
        return Terms(_text_field(field), tuple(tokens), slop)


def _unquote(phrase: str) -> str:
    """A phrase's text without its quotes and escapes: "Los \\"Pulpos\\"" -> Los "Pulpos"."""
    return _ESCAPE.sub(r"\1", phrase[1:-1])


def _text_field(field: str | None) -> TextField:
    return "all" if field is None else TEXT_FIELDS[field]


def _keyword(field: KeywordField, raw: str, prefix: bool) -> Node:
    value = analysis.keyword(raw)
    if field == "crime":
        value = re.sub(r"[\s-]+", "_", value)
    if not value:
        raise FixInput("E502", reason=f"{field}: needs a value")
    if field == "kind" and not prefix and value not in ENTITY_KINDS:
        known = ", ".join(ENTITY_KINDS)
        raise FixInput("E502", reason=f"unknown kind {raw!r} (known: {known})")
    return Keyword(field, value, prefix)


def _dates(node: Item, field: str | None) -> Node:
    if field not in DATE_FIELDS:
        raise FixInput("E502", reason=f"ranges apply to published, not to {field or 'text'}")
    if isinstance(node, Range):
        start = _bound(node.low, first=True, include=node.include_low)
        end = _bound(node.high, first=False, include=node.include_high)
    elif isinstance(node, From):
        start, end = _bound(node.a, first=True, include=node.include), None
    elif isinstance(node, To):
        start, end = None, _bound(node.a, first=False, include=node.include)
    elif isinstance(node, Word | Phrase):
        value = node.value.strip('"')
        start, end = _day(value, first=True), _day(value, first=False)
    else:
        raise FixInput("E502", reason=f"published: takes a date or a range, not {_show(node)}")
    if start and end and start > end:
        raise FixInput("E502", reason=f"empty date range: {start} is after {end}")
    return DateRange(start, end)


def _bound(node: Item, first: bool, include: bool) -> str | None:
    value = str(node).strip().strip('"')
    if value == "*":
        return None
    day = _day(value, first=first if include else not first)
    if include:
        return day
    try:
        moved = date.fromisoformat(day) + timedelta(days=1 if first else -1)
    except OverflowError:
        raise FixInput("E502", reason=f"date out of range: {value!r}") from None
    return moved.isoformat()


def _day(value: str, first: bool) -> str:
    """A date written YYYY, YYYY-MM or YYYY-MM-DD, as its first or last day."""
    found = _DAY.match(value)
    if not found:
        raise FixInput("E502", reason=f"not a date: {value!r} (write YYYY-MM-DD, YYYY-MM or YYYY)")
    year = int(found.group(1))
    month = int(found.group(2) or (1 if first else 12))
    try:
        if found.group(3):
            day = date(year, month, int(found.group(3)))
        else:
            last = calendar.monthrange(year, month)[1] if 1 <= month <= 12 else 0
            day = date(year, month, 1 if first else last)
    except ValueError:
        raise FixInput("E502", reason=f"not a date: {value!r}") from None
    return day.isoformat()


def _show(node: Item) -> str:
    """A node as it was written, on one line and not too long, for an error message."""
    text = " ".join(str(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _position(message: str, text: str) -> int:
    found = re.search(r"position (\d+)", message)
    return int(found.group(1)) if found else len(text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "query too deeply nested"
    message = str(exc).replace("Syntax error in input : ", "")
    message = re.sub(r"\s*at position \d+!?|\s*at the end!?", "", message)
    return " ".join(message.split()).strip(" !") or "syntax error"


__all__ = ["ENTITY_KINDS", "FIELDS", "MAX_QUERY_CHARS", "parse", "plan"]
