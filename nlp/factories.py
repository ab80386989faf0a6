"""Every spaCy factory Pesquisa registers lives here; the logic lives in nlp/components/."""

from __future__ import annotations

from spacy.language import Language

from nlp.components.entity_filter import EntityFilter


@Language.factory(
    "pesquisa_entity_filter",
    default_config={"min_chars": 2, "labels": ["PER", "ORG", "LOC"]},
)
def make_entity_filter(
    nlp: Language, name: str, min_chars: int, labels: list[str]
) -> EntityFilter:
    return EntityFilter(min_chars=min_chars, labels=labels)
