"""The one query tree both backends compile: what `indexer/query.py` lowers a query to.

Every value in it is already analyzed (`indexer/analysis.py`): text tokens are stems or folded
words, keyword values are folded. A backend never analyzes anything itself, so the same tree
means the same documents in SQLite and in Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

TextField = Literal["all", "title", "text"]
KeywordField = Literal["source", "entity", "kind", "crime"]
TEXT_FIELDS: tuple[TextField, ...] = ("all", "title", "text")
KEYWORD_FIELDS: tuple[KeywordField, ...] = ("source", "entity", "kind", "crime")


@dataclass(frozen=True)
class Terms:
    """Stemmed tokens in `field`: one token is a term; several are an exact phrase (`slop` None)
    or, with `slop` = N, all of them in one field, in any order, with at most N other tokens
    between the first and the last of them (FTS5 `NEAR(a b c, N)`; in Elasticsearch an
    unordered `span_near` whose slop is N + 2 - k for k distinct tokens, the same for two)."""

    field: TextField
    tokens: tuple[str, ...]
    slop: int | None = None


@dataclass(frozen=True)
class Prefix:
    """A folded, unstemmed word prefix (`lav*`), matched against the unstemmed stream."""

    field: TextField
    prefix: str


@dataclass(frozen=True)
class Keyword:
    """An exact (or, with `prefix`, starts-with) match of a folded keyword value.

    source: the source id; entity: an entity id, its canonical name or a name it appears under
    in the document; kind: an entity kind present in the document; crime: a crime-type code.
    """

    field: KeywordField
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class DateRange:
    """Published between two Lima days, both inclusive ("YYYY-MM-DD"); None is open."""

    start: str | None
    end: str | None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class MatchAll:
    """Every document (the query `*`)."""


Node = Terms | Prefix | Keyword | DateRange | And | Or | Not | MatchAll


def positives(node: Node, negated: bool = False) -> Iterator[Terms | Prefix]:
    """The text parts a matching document may contain (not under a NOT): what to highlight."""
    if isinstance(node, Terms | Prefix):
        if not negated:
            yield node
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from positives(child, negated)
    elif isinstance(node, Not):
        yield from positives(node.child, not negated)


def has_text(node: Node) -> bool:
    """Whether a positive text part drives relevance (else results sort by date)."""
    return next(positives(node), None) is not None
