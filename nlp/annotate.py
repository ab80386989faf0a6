"""Turn documents into mentions: entity spans with canonical ids, kinds and sentence snippets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from spacy.language import Language
from spacy.tokens import Doc, Span

from pesquisa.ids import entity_id
from pesquisa.store import Mention

# spaCy's coarse label -> our kind. The NLP issue refines PER into official/person and ORG
# into institution/crime_group/organization with the knowledge base.
KINDS = {"PER": "person", "ORG": "organization", "LOC": "place"}
SNIPPET_CHARS = 400


def _sentence(span: Span) -> str:
    sentence = span.sent.text.strip()
    return sentence if len(sentence) <= SNIPPET_CHARS else sentence[:SNIPPET_CHARS] + "…"


def canonical_name(span: Span) -> str:
    """The name as written, whitespace-collapsed and without surrounding punctuation.

    Leading articles stay: they belong to names such as "Los Pulpos" or "La Libertad".
    """
    return " ".join(span.text.split()).strip(" .,;:\"'«»“”")


def mentions(doc: Doc) -> list[Mention]:
    found = []
    for span in doc.ents:
        if span.label_ not in KINDS:
            continue
        name = canonical_name(span)
        if not name:
            continue
        found.append(
            Mention(
                entity_id=entity_id(span.label_, name), name=name, label=span.label_,
                kind=KINDS[span.label_], start=span.start_char, end=span.end_char,
                text=span.text, sentence=_sentence(span),
            )
        )
    return found


def annotate(nlp: Language, texts: Sequence[str], batch_size: int = 16) -> Iterator[list[Mention]]:
    """Mentions for each text, in order."""
    for doc in nlp.pipe(texts, batch_size=batch_size):
        yield mentions(doc)
