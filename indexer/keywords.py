"""The keyword values of a document, computed once for both backends.

Two kinds of values, by field:
- the fields of the query language (`source:`, `entity:`, `kind:`, `crime:`): values folded
  as `analysis.keyword` folds them, which is how the query layer folds what users type.
  `entity` holds each entity's id, canonical name and the names it appears under in the
  document; an empty value (nothing a query can reach) is left out, except the source and
  crime values, which are kept as they always were.
- the facet fields (prefixed "facet:"): the values as given, the ones facets count and show:
  the source, the crime-type codes, and "<entity id>\\t<canonical name>" per entity kind
  that has a facet (`indexer/facets.py` FACET_KIND).

SQLite stores them as (field, value) keys; Elasticsearch as keyword arrays (`es_mapping.py`).
"""

from __future__ import annotations

from indexer import analysis
from indexer.base import IndexDocument
from indexer.facets import FACET_KIND

SEARCHED = ("source", "entity", "kind", "crime")  # the keyword fields of the query language
FACET = "facet:"
SOURCE_FACET, CRIME_FACET, ENTITY_FACET = "facet:source", "facet:crime", "facet:entity:"


def keyword_values(doc: IndexDocument) -> dict[str, set[str]]:
    """Field -> values, for every field of SEARCHED (possibly empty sets), SOURCE_FACET,
    CRIME_FACET, and ENTITY_FACET + kind for each facet kind among the document's entities."""
    values: dict[str, set[str]] = {
        "source": {analysis.keyword(doc.source)},
        "entity": set(),
        "kind": set(),
        "crime": set(),
        SOURCE_FACET: {doc.source},
        CRIME_FACET: set(),
    }
    for entity in doc.entities:
        values["entity"].update(analysis.keyword(name)
                                for name in (entity.id, entity.name, *entity.aliases))
        values["kind"].add(analysis.keyword(entity.kind))
        if FACET_KIND.fullmatch(entity.kind):
            values.setdefault(ENTITY_FACET + entity.kind, set()).add(
                f"{entity.id}\t{entity.name}")
    for code in doc.crime_types:
        values["crime"].add(analysis.keyword(code))
        values[CRIME_FACET].add(code)
    values["entity"].discard("")
    values["kind"].discard("")
    return values
