"""Compile the query tree (`indexer/plan.py`) to the Elasticsearch query DSL.

Every clause must select exactly the documents the SQLite FTS5 compilation selects (a parity
suite compares them), so each one names the exact Lucene query over the pre-analyzed streams:

- a term or a phrase: `match_phrase` (slop 0) with the `whitespace` analyzer, i.e. the very
  tokens of the plan, on ONE stream (an FTS5 phrase lives in one column); on both title and
  text, a `multi_match` of type phrase (either field, one level deep);
- proximity `"a b c"~N`: `span_near`, unordered, on one stream. FTS5's `NEAR(a b c, N)` matches
  when the positions of all phrases lie within N + 1 of each other, whatever their number
  (so no token is more than N others away from any other); Lucene's unordered slop counts the
  tokens between them all together (span width minus the number of tokens). The same documents
  therefore need slop = N + 2 - k for k distinct tokens (N for two, as the plan's docstring
  says), and nothing matches when that is negative (FTS5 `NEAR(a b c, 0)` matches nothing).
  FTS5 also lets a repeated token match one position twice (`NEAR(a a b, 0)` = `NEAR(a b, 0)`),
  while Lucene would count a shared position once in the width and twice in the length, so
  repeated tokens are dropped first;
- a prefix wildcard: `prefix` on the folded, unstemmed stream;
- keyword fields: `term` / `prefix` on folded keyword arrays; dates: `range` on the Lima day.

Title clauses are boosted (TITLE_BOOST) for ranking only; filters (keywords, dates, NOT) score
nothing. Elasticsearch refuses queries nested more than MAX_DEPTH objects deep, so the tree is
flattened first (a AND (b AND c) is one AND, NOT NOT a is a) and each node costs one level;
what is still too deep is a FixInput E502, never a request the node refuses.
"""

from __future__ import annotations

from typing import Any

from indexer.backends.es_mapping import KEYWORD_FIELD
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
)
from pesquisa.errors import FixInput

TITLE_BOOST = 5.0
MAX_DEPTH = 30  # Elasticsearch's default indices.query.max_nested_depth (query objects)
Query = dict[str, Any]
MATCH_NONE: Query = {"match_none": {}}

_STEMMED = {"title": "title_s", "text": "text_s"}
_FOLDED = {"title": "title_f", "text": "text_f"}
_COMPOUND = ("bool", "span_near")


def compile_query(node: Node, *, wrapped: int = 0) -> Query:
    """The DSL query selecting the documents `node` matches. `wrapped`: the levels the caller
    will add around it (counted against MAX_DEPTH)."""
    query = _compile(simplify(node), scored=True)
    levels = depth(query) + wrapped
    if levels > MAX_DEPTH:
        raise FixInput("E502", reason=f"the query is nested too deeply ({levels} levels, at "
                       f"most {MAX_DEPTH}): remove parentheses")
    return query


def simplify(node: Node) -> Node:
    """The same query with NOT NOT dropped and nested ANDs (ORs) merged into one."""
    negated = False
    while isinstance(node, Not):  # a loop: thousands of NOTs must not recurse
        negated, node = not negated, node.child
    if isinstance(node, And | Or):
        merged: list[Node] = []
        for child in node.children:
            inner = simplify(child)
            same = isinstance(inner, And) if isinstance(node, And) else isinstance(inner, Or)
            merged.extend(inner.children if same and isinstance(inner, And | Or) else (inner,))
        node = And(tuple(merged)) if isinstance(node, And) else Or(tuple(merged))
    return Not(node) if negated else node


def depth(query: Query) -> int:
    """How many query objects deep `query` goes (what Elasticsearch limits)."""
    deepest = 0
    for kind in _COMPOUND:
        body = query.get(kind)
        if isinstance(body, dict):
            for key in ("must", "filter", "should", "must_not", "clauses"):
                for clause in body.get(key, ()):
                    deepest = max(deepest, depth(clause))
    return 1 + deepest


def _compile(node: Node, scored: bool) -> Query:
    """`scored`: whether a match adds to the score (text does, filters never do)."""
    if isinstance(node, Terms):
        return _terms(node)
    if isinstance(node, Prefix):
        queries = [{"prefix": {_FOLDED[name]: _boosted({"value": node.prefix}, boost)}}
                   for name, boost in _fields(node.field)]
        return _either(queries)
    if isinstance(node, Keyword):
        kind = "prefix" if node.prefix else "term"
        return {kind: {KEYWORD_FIELD[node.field]: {"value": node.value, "boost": 0.0}}}
    if isinstance(node, DateRange):
        if node.start is None and node.end is None:
            return {"exists": {"field": "day", "boost": 0.0}}
        bounds: dict[str, Any] = {"format": "yyyy-MM-dd", "boost": 0.0}
        if node.start is not None:
            bounds["gte"] = node.start
        if node.end is not None:
            bounds["lte"] = node.end
        return {"range": {"day": bounds}}
    if isinstance(node, MatchAll):
        return {"match_all": {"boost": 0.0}}
    if isinstance(node, Not):  # everything but: a bool of must_not alone matches the rest
        return {"bool": {"must_not": [_compile(node.child, scored=False)]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_compile(child, scored) for child in node.children],
                         "minimum_should_match": 1}}
    if isinstance(node, And):
        return _and(node, scored)
    raise TypeError(f"not a query node: {node!r}")


def _and(node: And, scored: bool) -> Query:
    must: list[Query] = []
    filters: list[Query] = []
    must_not: list[Query] = []
    for child in node.children:
        if isinstance(child, Not):
            must_not.append(_compile(child.child, scored=False))
        elif isinstance(child, Keyword | DateRange | MatchAll) or not scored:
            filters.append(_compile(child, scored=False))
        else:
            must.append(_compile(child, scored))
    clauses: dict[str, Any] = {}
    for key, queries in (("must", must), ("filter", filters), ("must_not", must_not)):
        if queries:
            clauses[key] = queries
    return {"bool": clauses}


def _boosted(body: dict[str, Any], boost: float) -> dict[str, Any]:
    return {**body, "boost": boost} if boost != 1.0 else body


def _fields(field: TextField) -> list[tuple[str, float]]:
    names = ["title", "text"] if field == "all" else [field]
    return [(name, TITLE_BOOST if name == "title" else 1.0) for name in names]


def _either(queries: list[Query]) -> Query:
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _terms(node: Terms) -> Query:
    if node.slop is None or len(node.tokens) == 1:
        # whitespace: the tokens are already analyzed and hold no space
        text = " ".join(node.tokens)
        if node.field == "all":
            return {"multi_match": {"query": text, "type": "phrase", "slop": 0,
                                    "analyzer": "whitespace",
                                    "fields": [f"title_s^{TITLE_BOOST:g}", "text_s"]}}
        field = _STEMMED[node.field]
        return {"match_phrase": {field: _boosted(
            {"query": text, "analyzer": "whitespace", "slop": 0},
            TITLE_BOOST if node.field == "title" else 1.0)}}
    tokens = list(dict.fromkeys(node.tokens))
    if len(tokens) == 1:
        return _terms(Terms(node.field, (tokens[0],)))
    slop = near_slop(node.slop, len(tokens))
    if slop < 0:
        return MATCH_NONE
    return _either([{"span_near": _boosted({
        "clauses": [{"span_term": {_STEMMED[name]: token}} for token in tokens],
        "slop": slop,
        "in_order": False,
    }, boost)} for name, boost in _fields(node.field)])


def near_slop(distance: int, tokens: int) -> int:
    """Lucene's unordered slop for FTS5's `NEAR(..., distance)` over `tokens` distinct tokens."""
    return distance + 2 - tokens
