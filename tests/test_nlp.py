"""NLP components without the statistical model (spacy.blank), as spaCy's own tests advise."""

from __future__ import annotations

import spacy
from spacy.tokens import Doc

import nlp.factories  # noqa: F401  (registers our components)
from nlp.annotate import canonical_name, mentions


def annotated(ents: list[tuple[int, int, str]], text: str) -> Doc:
    """A blank Spanish pipeline's doc with the given entity spans, then our filter."""
    pipeline = spacy.blank("es")
    pipeline.add_pipe("sentencizer")
    entity_filter = pipeline.add_pipe("pesquisa_entity_filter")
    doc = pipeline.get_pipe("sentencizer")(pipeline.make_doc(text))
    spans = [doc.char_span(s, e, label=label) for s, e, label in ents]
    assert all(span is not None for span in spans)
    doc.ents = [span for span in spans if span is not None]
    result: Doc = entity_filter(doc)
    return result


TEXT = (
    "El fiscal José Domingo Pérez interrogó a Los Pulpos en Trujillo. "
    "de acuerdo con la Fiscalía."
)


def span_of(words: str) -> tuple[int, int]:
    start = TEXT.index(words)
    return start, start + len(words)


def test_filter_drops_lowercase_and_unwanted_labels() -> None:
    ents = [
        (*span_of("José Domingo Pérez"), "PER"),
        (*span_of("Los Pulpos"), "ORG"),
        (*span_of("Trujillo"), "LOC"),
        (*span_of("de acuerdo"), "MISC"),
        (*span_of("la Fiscalía"), "ORG"),
    ]
    doc = annotated(ents, TEXT)
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("José Domingo Pérez", "PER"), ("Los Pulpos", "ORG"), ("Trujillo", "LOC"),
    ]


def test_mentions_carry_offsets_kinds_ids_and_sentences() -> None:
    ents = [(*span_of("José Domingo Pérez"), "PER"), (*span_of("Los Pulpos"), "ORG")]
    doc = annotated(ents, TEXT)
    found = mentions(doc)
    assert [(m.entity_id, m.kind) for m in found] == [
        ("per:jose-domingo-perez", "person"), ("org:los-pulpos", "organization"),
    ]
    first = found[0]
    assert TEXT[first.start:first.end] == "José Domingo Pérez"
    assert first.sentence == "El fiscal José Domingo Pérez interrogó a Los Pulpos en Trujillo."


def test_canonical_name_keeps_articles_and_drops_quotes() -> None:
    doc = spacy.blank("es")("«Los Pulpos»,")
    assert canonical_name(doc[0:4]) == "Los Pulpos"


def test_sentence_words_glued_to_a_name_are_cut_off() -> None:
    import spacy
    from spacy.tokens import Span

    from nlp.components.entity_filter import EntityFilter

    blank = spacy.blank("es")
    doc = blank("Según Zapata y Tras la reunión , Según dijo")
    doc.ents = [Span(doc, 0, 2, label="PER"), Span(doc, 3, 4, label="PER"),
                Span(doc, 7, 8, label="PER")]
    EntityFilter(min_chars=2, labels=["PER"])(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Zapata", "PER")]
