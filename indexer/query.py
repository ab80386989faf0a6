"""The query language: Lucene syntax parsed once, with luqum, into one checked tree.

Backends compile this tree (see indexer/backends/*_query.py); nothing else parses queries.
"""

from __future__ import annotations

import re
import threading

from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser
from luqum.tree import (
    AndOperation,
    FieldGroup,
    Fuzzy,
    Group,
    Item,
    Not,
    OrOperation,
    Phrase,
    Plus,
    Prohibit,
    Proximity,
    Range,
    SearchField,
    UnknownOperation,
    Word,
)

from pesquisa.errors import FixInput

MAX_QUERY_CHARS = 2000
# Fields a query may name, and what each means. Backends map them to columns.
TEXT_FIELDS = frozenset({"title", "text"})
FILTER_FIELDS = frozenset({"source"})
FIELDS = TEXT_FIELDS | FILTER_FIELDS

_lock = threading.Lock()  # luqum's PLY parser keeps state between calls


def parse(query: str) -> Item:
    """Parse and check a query; a problem raises FixInput with the position it points at."""
    text = query.strip()
    if not text:
        raise FixInput("E501", pos=0, reason="empty query")
    if len(text) > MAX_QUERY_CHARS:
        raise FixInput("E501", pos=MAX_QUERY_CHARS, reason="query too long")
    bad = next((i for i, ch in enumerate(text) if ch < " " and ch not in "\t\n\r"), None)
    if bad is not None:
        raise FixInput("E501", pos=bad, reason="control character in query")
    try:
        with _lock:
            tree = parser.parse(text)
    except IllegalCharacterError as exc:
        raise FixInput("E501", pos=_position(str(exc), text), reason=_reason(exc)) from None
    except (ParseError, ValueError, TypeError) as exc:
        raise FixInput("E501", pos=_position(str(exc), text), reason=_reason(exc)) from None
    check(tree)
    pruned = prune(tree)
    if pruned is None:
        raise FixInput("E502", reason="the query has no letters or digits to search for")
    return pruned


_SEARCHABLE = re.compile(r"[^\W_]")  # FTS5's tokenizer splits on "_" too
_OPERATOR_WORDS = {"&&": "AND", "||": "OR"}


def prune(node: Item) -> Item | None:
    """Drop words and phrases with nothing searchable in them, such as a pasted ' – ' or ' | '.

    Without this, such a word becomes an empty FTS phrase that matches nothing and silently
    empties a whole AND.
    """
    if isinstance(node, Word | Phrase):
        return node if _SEARCHABLE.search(node.value) else None
    if isinstance(node, AndOperation | OrOperation | UnknownOperation):
        kept = [child for child in (prune(c) for c in node.children) if child is not None]
        if len(kept) < 2:
            return kept[0] if kept else None
        return type(node)(*kept)
    if isinstance(node, Proximity):
        return node if prune(node.term) is not None else None
    if isinstance(node, Group | FieldGroup | Not | Prohibit | Plus):
        inner = prune(node.children[0])
        return None if inner is None else type(node)(inner)
    if isinstance(node, SearchField):
        inner = prune(node.expr)
        return None if inner is None else SearchField(node.name, inner)
    return node


def _position(message: str, text: str) -> int:
    found = re.search(r"position (\d+)", message)
    return int(found.group(1)) if found else len(text)


def _reason(exc: Exception) -> str:
    message = str(exc).replace("Syntax error in input : ", "")
    message = re.sub(r"\s*at position \d+!?|\s*at the end!?", "", message)
    return " ".join(message.split()).strip(" !") or "syntax error"


def check(node: Item, field: str | None = None) -> None:
    """Reject what the language does not support, with a message that says what."""
    if isinstance(node, SearchField):
        name = node.name.lower()
        if name not in FIELDS:
            known = ", ".join(sorted(FIELDS))
            raise FixInput("E502", reason=f"unknown field {node.name!r} (known: {known})")
        if field is not None:
            raise FixInput("E502", reason=f"field {node.name!r} inside field {field!r}")
        check(node.expr, name)
        return
    if isinstance(node, Range):
        raise FixInput("E502", reason="ranges are not supported yet")
    if isinstance(node, Fuzzy):
        raise FixInput("E502", reason=f"fuzzy terms ({node}) are not supported")
    if isinstance(node, Proximity) and not isinstance(node.term, Phrase):
        raise FixInput("E502", reason="proximity (~N) applies to a phrase in quotes")
    if isinstance(node, Word):
        value = node.value
        if value in _OPERATOR_WORDS:
            raise FixInput("E502", reason=f"write {_OPERATOR_WORDS[value]} instead of {value}")
        if value.startswith("!"):
            raise FixInput("E502", reason=f"write NOT (or -) instead of ! in {value!r}")
        if "?" in value or "*" in value.rstrip("*") or value.strip("*") == "":
            raise FixInput("E502", reason=f"only suffix wildcards are supported: {value!r}")
    for child in node.children:
        check(child, field)


__all__ = [
    "FIELDS",
    "FILTER_FIELDS",
    "TEXT_FIELDS",
    "AndOperation",
    "FieldGroup",
    "Group",
    "Item",
    "Not",
    "OrOperation",
    "Phrase",
    "Plus",
    "Prohibit",
    "Proximity",
    "SearchField",
    "UnknownOperation",
    "Word",
    "check",
    "parse",
    "prune",
]
