"""Drop entity spans that are noise for our users: other labels, lowercase starts, stray tokens."""

from __future__ import annotations

from collections.abc import Iterable

from spacy.tokens import Doc, Span

from pesquisa.ids import fold

# Words that open a sentence capitalized and that the small model glues to the name after
# them ("Según Zapata", "Tras Boluarte"): never part of a name, so they are cut off.
LEADING_WORDS = frozenset({
    "segun", "tras", "ante", "para", "desde", "durante", "mediante", "sin", "sobre", "contra",
    "con", "entre", "hacia", "hasta", "por", "pero", "aunque", "ademas", "asimismo", "luego",
    "tambien", "asi", "incluso", "solo", "donde", "cuando", "mientras",
})


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

    @staticmethod
    def trim(span: Span) -> Span:
        """The span without leading sentence words ("Según Zapata" -> "Zapata")."""
        start = span.start
        while start < span.end and fold(span.doc[start].text) in LEADING_WORDS:
            start += 1
        if start == span.start:
            return span
        return Span(span.doc, start, span.end, label=span.label)

    def __call__(self, doc: Doc) -> Doc:
        trimmed = (self.trim(span) for span in doc.ents)
        doc.ents = [span for span in trimmed if len(span) and self.keep(span)]
        return doc
