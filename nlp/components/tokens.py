"""Token shapes the rule components share: no POS tags here, only text, case and entities."""

from __future__ import annotations

from collections.abc import Iterable

from spacy.tokens import Doc, Span, Token

from pesquisa.ids import fold

QUOTES = frozenset("\"'«»“”‘’`")
# Lowercase words allowed inside a proper name: "María del Carmen Alva", "Los Malditos de Bayóvar".
PARTICLES = frozenset({"de", "del", "la", "las", "los", "da", "do", "dos", "von", "van"})
ARTICLES = frozenset({"el", "la", "los", "las"})


def folded(token: Token) -> str:
    return fold(token.text)


def is_cap(token: Token) -> bool:
    """Starts with a capital letter ("Pérez", "PNP", "Ñique"), as names do."""
    text = token.text
    return bool(text) and text[0].isupper() and any(ch.isalpha() for ch in text)


def cap_run(doc: Doc, start: int, limit: int, sentence_end: int | None = None) -> int:
    """End (exclusive) of the run of capitalized tokens from `start`, with inner particles.

    Returns `start` when the token at `start` is not capitalized.
    """
    end = sentence_end if sentence_end is not None else len(doc)
    i = start
    last = start
    while i < end and i - start < limit:
        token = doc[i]
        if is_cap(token):
            i += 1
            last = i
        elif folded(token) in PARTICLES and i > start:
            i += 1
        else:
            break
    return last


def overlaps(span: Span, others: Iterable[Span]) -> list[Span]:
    return [o for o in others if o.start < span.end and span.start < o.end]


def replace_ents(doc: Doc, new: Span, keep: Iterable[Span] = ()) -> bool:
    """Put `new` in doc.ents, dropping overlapping spans, unless it overlaps one in `keep`."""
    protected = list(keep)
    if overlaps(new, protected):
        return False
    doc.ents = [e for e in doc.ents if not (e.start < new.end and new.start < e.end)] + [new]
    return True


def sentence_end(doc: Doc, i: int) -> int:
    """End token of the sentence holding token i (the doc end without sentence boundaries)."""
    if doc.has_annotation("SENT_START"):
        return doc[i].sent.end
    return len(doc)
