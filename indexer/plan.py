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


@dataclass(frozen=True)
class Terms:
    """Stemmed tokens in `field` ("all": the title or the text, never across the two).

    One token is a term; several are an exact phrase (`slop` None) or, with `slop` = N, a
    proximity group: all of them in one field, in any order, the first and the last at most
    N + 1 positions apart, i.e. at most N tokens between them, the group's own tokens
    included ("a b"~N: at most N words between a and b; "a b c"~1: the three side by side).
    This is FTS5's `NEAR(a b c, N)`; Elasticsearch needs an unordered `span_near` with slop
    N + 2 - k for k distinct tokens (Lucene counts only the tokens outside the group).
    """

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
