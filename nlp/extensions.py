"""Span and Doc extensions our components share, registered once (idempotent)."""

from __future__ import annotations

from spacy.tokens import Doc, Span

SPAN_EXTENSIONS = (
    "kind",  # official, person, institution, crime_group, organization, place
    "entity_id",  # "official:dina-boluarte"
    "canonical",  # the entity's display name
    "role",  # "fiscal de la Nación" for officials found with a role
    "source",  # "kb", "pattern" or "model": what found the span
    "aliases",  # nicknames found for a person in this document ("El Diablo")
    "alias_of",  # a nickname span: [start_char, end_char] of the person it names
)
DOC_EXTENSIONS = ("crime_types", "case_numbers")


def register() -> None:
    for name in SPAN_EXTENSIONS:
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)
    for name in DOC_EXTENSIONS:
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)


register()
