"""Snippets with highlighted matches, made the same way for both backends.

The words of the original text are analyzed like the index analyzes them; a word is marked
when its stem is one of the query's positive terms (or phrase words), or when its folded form
starts with one of the query's prefixes. The snippet is the window where the most distinct
matched words meet, HTML-escaped, with matches in `<mark>`.
"""

from __future__ import annotations

import html
import re

from indexer import analysis
from indexer.plan import Node, Prefix, Terms, positives

SNIPPET_BEFORE, SNIPPET_AFTER = 90, 200  # characters around the best match
MAX_SCAN_CHARS = 100_000  # where to look for matches in a long bulletin
MAX_MARKS = 500  # the first matches are enough to choose a window
WORD_SLACK = 30  # how far to look for a space to cut at, before cutting inside a word
_SPACES = re.compile(r"\s+")


class Highlighter:
    """What a query marks: built once per search, applied to each hit's text."""

    def __init__(self, tree: Node) -> None:
        self.stems: set[str] = set()
        self.prefixes: list[str] = []
        for part in positives(tree):
            if isinstance(part, Terms):
                self.stems.update(part.tokens)
            elif isinstance(part, Prefix):
                self.prefixes.append(part.prefix)
        # Stop words inside phrases are not marked on their own, unless nothing else is.
        self.skip_stop_words = bool(self.prefixes) or any(
            stem not in analysis.STOP_WORDS for stem in self.stems)

    def matches(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, stem) of the marked words in the first MAX_SCAN_CHARS of `text`."""
        if not self.stems and not self.prefixes:
            return []
        found: list[tuple[int, int, str]] = []
        for match in analysis.words(text[:MAX_SCAN_CHARS]):
            for folded, stem in analysis.tokens_of(match.group()):
                if self.skip_stop_words and folded in analysis.STOP_WORDS:
                    continue
                if stem in self.stems or any(folded.startswith(p) for p in self.prefixes):
                    found.append((match.start(), match.end(), stem))
                    break
            if len(found) >= MAX_MARKS:
                break
        return found

    def snippet(self, text: str) -> str:
        """A window of `text` around the best match, escaped, matches in <mark>; without a
        match, the opening of the text."""
        marks = self.matches(text)
        anchor = _best_anchor(marks)
        start = _word_start(text, anchor - SNIPPET_BEFORE) if marks else 0
        end = _word_end(text, (anchor if marks else 0) + SNIPPET_AFTER)
        parts: list[str] = []
        cursor = start
        for mark_start, mark_end, _ in marks:
            if mark_start < start or mark_end > end:
                continue
            parts.append(_escape(text[cursor:mark_start]))
            parts.append("<mark>" + _escape(text[mark_start:mark_end]) + "</mark>")
            cursor = mark_end
        parts.append(_escape(text[cursor:end]))
        body = "".join(parts).strip()
        return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def _escape(text: str) -> str:
    return html.escape(_SPACES.sub(" ", text), quote=False)


def _best_anchor(marks: list[tuple[int, int, str]]) -> int:
    """Where the window with the most distinct matched words starts (the earliest on ties)."""
    if not marks:
        return 0
    best, best_count, right = marks[0][0], 0, 0
    for left, (position, _, _) in enumerate(marks):
        right = max(right, left)
        while right + 1 < len(marks) and marks[right + 1][0] < position + SNIPPET_AFTER:
            right += 1
        count = len({stem for _, _, stem in marks[left:right + 1]})
        if count > best_count:
            best, best_count = position, count
    return best


def _word_start(text: str, pos: int) -> int:
    if pos <= 0:
        return 0
    space = text.rfind(" ", max(pos - WORD_SLACK, 0), pos)
    return space + 1 if space >= 0 else pos


def _word_end(text: str, pos: int) -> int:
    if pos >= len(text):
        return len(text)
    space = text.find(" ", pos, pos + WORD_SLACK)
    return space if space >= 0 else pos
