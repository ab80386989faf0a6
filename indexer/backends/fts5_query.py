"""Compile the query tree (indexer/query.py) to an FTS5 MATCH expression plus SQL filters.

Text that FTS5 can answer alone (terms, phrases, NEAR, AND/OR, binary NOT) becomes one MATCH
expression, which also drives BM25 ranking and snippets. What FTS5 cannot express (a query
that is only negative, filter fields such as `source:` mixed into OR) becomes SQL over the
`docs` table, with text parts answered by FTS5 subqueries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.query import (
    FILTER_FIELDS,
    AndOperation,
    FieldGroup,
    Group,
    Item,
    Not,
    OrOperation,
    Phrase,
    Plus,
    Prohibit,
    Proximity,
    SearchField,
    UnknownOperation,
    Word,
)
from pesquisa.errors import FixInput

_FTS_SUBQUERY = "d.rowid IN (SELECT rowid FROM docs_fts WHERE docs_fts MATCH ?)"
MAX_DISTANCE = 1000  # "a b"~N beyond this means "anywhere in the document" anyway


@dataclass
class Compiled:
    match: str | None = None  # FTS5 expression of the positive text, for ranking and snippets
    where: list[str] = field(default_factory=list)  # SQL conditions over `docs d`, ANDed
    params: list[str] = field(default_factory=list)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _word(value: str) -> str:
    if value.endswith("*"):
        return _quote(value.rstrip("*")) + "*"
    return _quote(value)


def _is_negative(node: Item) -> bool:
    return isinstance(node, Not | Prohibit)


def fts(node: Item) -> str | None:
    """The FTS5 expression for a pure-text subtree, or None when SQL is needed."""
    if isinstance(node, Word):
        return _word(node.value)
    if isinstance(node, Phrase):
        return _quote(node.value.strip('"'))
    if isinstance(node, Proximity):
        words = node.term.value.strip('"').split()
        degree = min(int(node.degree if node.degree is not None else 1), MAX_DISTANCE)
        return f"NEAR({' '.join(_quote(w) for w in words)}, {degree})"
    if isinstance(node, Group | FieldGroup | Plus):
        inner = fts(node.children[0])
        return None if inner is None else f"({inner})"
    if isinstance(node, SearchField):
        if node.name.lower() in FILTER_FIELDS:
            return None
        inner = fts(node.expr)
        return None if inner is None else f"{node.name.lower()} : ({inner})"
    if isinstance(node, AndOperation | UnknownOperation):
        positives = [c for c in node.children if not _is_negative(c)]
        negatives = [c.children[0] for c in node.children if _is_negative(c)]
        if not positives:
            return None
        parts = [fts(c) for c in positives]
        drop = [fts(c) for c in negatives]
        if any(p is None for p in parts) or any(n is None for n in drop):
            return None
        expr = "(" + " AND ".join(p for p in parts if p) + ")"
        if drop:
            expr += " NOT (" + " OR ".join(n for n in drop if n) + ")"
        return expr
    if isinstance(node, OrOperation):
        parts = [fts(c) for c in node.children]
        if any(p is None for p in parts):
            return None
        return "(" + " OR ".join(p for p in parts if p) + ")"
    return None  # Not / Prohibit on their own


def sql(node: Item, params: list[str], field_name: str | None = None) -> str:
    """A SQL condition over `docs d` for any subtree.

    `field_name` is the field the subtree sits in: a filter field (compared as a column) or
    a text field (its FTS parts are restricted to that column), or None for all text.
    """
    if field_name not in FILTER_FIELDS:
        expr = fts(node)
        if expr is not None:
            params.append(expr if field_name is None else f"{field_name} : ({expr})")
            return _FTS_SUBQUERY
    if isinstance(node, SearchField):
        return sql(node.expr, params, node.name.lower())
    if isinstance(node, Group | FieldGroup | Plus):
        return f"({sql(node.children[0], params, field_name)})"
    if isinstance(node, Not | Prohibit):
        return f"NOT ({sql(node.children[0], params, field_name)})"
    if isinstance(node, AndOperation | UnknownOperation):
        return "(" + " AND ".join(sql(c, params, field_name) for c in node.children) + ")"
    if isinstance(node, OrOperation):
        return "(" + " OR ".join(sql(c, params, field_name) for c in node.children) + ")"
    if field_name in FILTER_FIELDS and isinstance(node, Word | Phrase):
        value = node.value.strip('"').lower()
        if value.endswith("*"):
            params.append(value.rstrip("*").replace("%", r"\%").replace("_", r"\_") + "%")
            return f"d.{field_name} LIKE ? ESCAPE '\\'"
        params.append(value)
        return f"d.{field_name} = ?"
    raise FixInput("E502", reason=f"cannot search {node!s} here")


def compile_query(tree: Item) -> Compiled:
    compiled = Compiled()
    whole = fts(tree)
    if whole is not None:
        compiled.match = whole
        return compiled
    parts = list(tree.children) if isinstance(tree, AndOperation | UnknownOperation) else [tree]
    text_parts: list[str] = []
    for part in parts:
        expr = None if _is_negative(part) else fts(part)
        if expr is not None:
            text_parts.append(expr)
        else:
            compiled.where.append(sql(part, compiled.params))
    if text_parts:
        compiled.match = " AND ".join(text_parts)
    return compiled
