"""Compile the query plan (indexer/plan.py) for the SQLite index: FTS5 MATCH expressions for
the text, SQL for keyword lookups; the SQLite backend combines their sets of documents.

Text that FTS5 answers alone (terms, phrases, NEAR, prefixes, AND/OR, a NOT beside a positive
part) becomes one MATCH expression, and the backend asks FTS5 once for it. The rest is set
algebra the backend evaluates itself (AND, OR, NOT against every document), over the documents
of those MATCHes, of keyword lookups in `doc_keys`, and of date ranges on `docs.day`.

Column semantics, the same as the Elasticsearch backend's:
- `Terms` on "all" looks in the title OR the text stream; a phrase or a NEAR group must lie
  within one column (FTS5 positions never span columns);
- `Prefix` reads the folded, unstemmed streams (`title_f`, `text_f`).
"""

from __future__ import annotations

from indexer.plan import And, Keyword, Node, Not, Or, Prefix, Terms, TextField, positives

TITLE_WEIGHT, TEXT_WEIGHT = 5.0, 1.0
# bm25 weights in column order: title_s, text_s, title_f, text_f
BM25 = f"bm25(docs_fts, {TITLE_WEIGHT}, {TEXT_WEIGHT}, {TITLE_WEIGHT}, {TEXT_WEIGHT})"
STEMMED: dict[TextField, str] = {"all": "{title_s text_s}", "title": "title_s", "text": "text_s"}
FOLDED: dict[TextField, str] = {"all": "{title_f text_f}", "title": "title_f", "text": "text_f"}
# Above every character a keyword value can hold: the end of a prefix range.
PREFIX_END = chr(0x10FFFF)


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def text_expression(node: Node) -> str | None:
    """The FTS5 expression of a subtree FTS5 can answer alone, or None."""
    if isinstance(node, Terms):
        if len(node.tokens) == 1 or node.slop is None:
            return f"{STEMMED[node.field]} : {_quote(' '.join(node.tokens))}"
        near = " ".join(_quote(token) for token in node.tokens)
        return f"{STEMMED[node.field]} : NEAR({near}, {node.slop})"
    if isinstance(node, Prefix):
        return f"{FOLDED[node.field]} : {_quote(node.prefix)} *"
    if isinstance(node, Or):
        parts = [text_expression(child) for child in node.children]
        if any(part is None for part in parts):
            return None
        return " OR ".join(f"({part})" for part in parts)
    if isinstance(node, And):
        included = [c for c in node.children if not isinstance(c, Not)]
        excluded = [c.child for c in node.children if isinstance(c, Not)]
        if not included:
            return None  # FTS5's NOT is binary: something must come before it
        kept = [text_expression(child) for child in included]
        dropped = [text_expression(child) for child in excluded]
        if any(part is None for part in kept) or any(part is None for part in dropped):
            return None
        expression = "(" + " AND ".join(f"({part})" for part in kept) + ")"
        if dropped:
            expression += " NOT (" + " OR ".join(f"({part})" for part in dropped) + ")"
        return expression
    return None


def split(node: And) -> tuple[str | None, list[Node], list[Node]]:
    """An AND as (one MATCH expression for its text parts, with the NOTs of text parts when
    some text part is positive; its other positive children; its other negated children)."""
    included: list[Node] = [c for c in node.children if not isinstance(c, Not)]
    excluded = [c.child for c in node.children if isinstance(c, Not)]
    text = [c for c in included if text_expression(c) is not None]
    text_excluded = [c for c in excluded if text_expression(c) is not None] if text else []
    match = None
    if text:
        match = text_expression(And((*text, *(Not(c) for c in text_excluded))))
    others = [c for c in included if c not in text]
    rest = [c for c in excluded if c not in text_excluded]
    return match, others, rest


def keyword_rowids(node: Keyword) -> tuple[str, list[object]]:
    """SQL giving the rowids of the documents with a keyword value, comma-separated."""
    if node.prefix:
        keys = "SELECT key FROM keys WHERE field = ? AND value >= ? AND value < ?"
        params: list[object] = [node.field, node.value, node.value + PREFIX_END]
    else:
        keys = "SELECT key FROM keys WHERE field = ? AND value = ?"
        params = [node.field, node.value]
    return f"SELECT group_concat(doc) FROM doc_keys WHERE key IN ({keys})", params


def ranking(tree: Node) -> tuple[str | None, bool]:
    """The FTS5 expression whose bm25 ranks the documents a query matches, and whether every
    one of them matches it (else those matched by filters alone have no score)."""
    expression = text_expression(tree)
    if expression is not None:
        return expression, True
    if isinstance(tree, And):
        match, _, _ = split(tree)
        if match is not None:
            return match, True
    parts = [text_expression(part) for part in positives(tree)]
    return " OR ".join(f"({part})" for part in parts if part) or None, False
