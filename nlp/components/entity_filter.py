"""Drop entity spans that are noise for our users: other labels, lowercase starts, stray tokens."""

from __future__ import annotations

from collections.abc import Iterable

from spacy.tokens import Doc, Span


class EntityFilter:
    """Keep only spans with a wanted label that look like names.

    The small Spanish model tags sentence-initial words and punctuation runs as entities now
    and then; those never help a journalist, so they go before mentions are stored.
    """

    def __init__(self, min_chars: int, labels: Iterable[str]) -> None:
        self.min_chars = min_chars
        self.labels = frozenset(labels)

    def keep(self, span: Span) -> bool:
        text = span.text.strip()
        return (
            span.label_ in self.labels
            and len(text) >= self.min_chars
            and text[0].isupper()
            and any(ch.isalpha() for ch in text)
        )

    def __call__(self, doc: Doc) -> Doc:
        doc.ents = [span for span in doc.ents if self.keep(span)]
        return doc
