"""Turn documents into mentions: entity spans with canonical ids, kinds and sentence snippets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

import nlp.extensions  # noqa: F401  (Span._.kind and friends)
from pesquisa.ids import entity_id
from pesquisa.store import Mention

# spaCy's coarse label -> our kind, for spans the normalizer did not see; the normalizer refines
# PER into official/person and ORG into institution/crime_group/organization.
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
    """The document's entity spans as store mentions, with kind, canonical id and role.

    Spans that the normalizer did not see (a pipeline without it) keep the label-based id.
    """
    found = []
    for span in doc.ents:
        if span.label_ not in KINDS and span._.kind is None:
            continue
        name = span._.canonical or canonical_name(span)
        if not name:
            continue
        found.append(
            Mention(
                entity_id=span._.entity_id or entity_id(span.label_, name), name=name,
                label=span.label_, kind=span._.kind or KINDS[span.label_],
                start=span.start_char, end=span.end_char, text=span.text,
                sentence=_sentence(span), role=span._.role, source=span._.source or "model",
            )
        )
    return found


def annotation(doc: Doc) -> dict[str, Any]:
    """The JSON contract of `pesquisa annotate --json`: entities, crime types, case numbers."""
    return {
        "entities": [
            {"start": m.start, "end": m.end, "text": m.text, "label": m.label, "kind": m.kind,
             "canonical": m.name, "entity_id": m.entity_id, "role": m.role}
            for m in mentions(doc)
        ],
        "crime_types": _doc_extension(doc, "crime_types"),
        "case_numbers": _doc_extension(doc, "case_numbers"),
    }


def _doc_extension(doc: Doc, name: str) -> list[Any]:
    return list(getattr(doc._, name, None) or []) if Doc.has_extension(name) else []


def annotate(nlp: Language, texts: Sequence[str], batch_size: int = 16) -> Iterator[list[Mention]]:
    """Mentions for each text, in order."""
    for doc in nlp.pipe(texts, batch_size=batch_size):
        yield mentions(doc)
