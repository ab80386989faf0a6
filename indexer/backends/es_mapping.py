"""The Elasticsearch index: its settings and mapping, its versioned name, and a document's body.

Why the text arrives pre-analyzed: both backends must find the same documents for the same
query. Rather than rebuilding our analysis (fold, Snowball Spanish stems, two streams) out of
Elasticsearch token filters and hoping the two agree, the body sent for each document carries
the token streams that `indexer/analysis.py` computed, joined by spaces (`title_s`/`text_s`:
stems, `title_f`/`text_f`: folded words for prefix wildcards). Elasticsearch only splits them
again with its built-in `whitespace` analyzer, so parity with SQLite FTS5 holds by construction.
For the same reason the index defines no analysis of its own: nothing here needs the
analysis-common module (absent from the test node, present in official images).

The analyzed streams and the keyword arrays (entity, kind, crime, facets; their values come
from `indexer/keywords.py`, as SQLite's do) are indexed but left out of `_source`, which keeps
only what a hit displays. Dates come from `IndexDocument`, as in
the SQLite backend: `day` (the Lima day, for filters and the histogram; none when `published`
is no date) and `published_at` (`published_ms`, for the date sort); `published` stays as
given, for display. Entity facets are one keyword field per kind (`facet.<kind>`) for the kinds
`indexer/facets.py` allows. A mapping change bumps MAPPING_VERSION: indexes are named
`<alias>-v<MAPPING_VERSION>-<UTC yyyymmddhhmmss>` behind the alias, and an alias whose index
carries another version must be rebuilt (`pesquisa reindex`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from indexer import analysis, keywords
from indexer.base import MAX_WINDOW, IndexDocument
from indexer.facets import facet_kinds
from indexer.keywords import keyword_values
from indexer.query import ENTITY_KINDS

MAPPING_VERSION = 1
STAMP_FORMAT = "%Y%m%d%H%M%S"
TEXT_STREAMS = ("title_s", "text_s", "title_f", "text_f")
# Where each keyword field of the query language is matched.
KEYWORD_FIELD = {"source": "source_key", "entity": "entity", "kind": "kind", "crime": "crime"}
FACET_FIELD = "facet"  # facet.<kind>: "<entity id>\t<canonical name>" per entity of that kind
CRIME_FACET = "crime_facet"  # crime-type codes as given (`crime` holds them folded, to match)
_KEYWORD_MAX = 4096  # longer keyword values are kept in no index (they are never searched)


def index_name(alias: str, now: datetime | None = None) -> str:
    """A new versioned index name for `alias`: `<alias>-v<version>-<UTC yyyymmddhhmmss>`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{alias}-v{MAPPING_VERSION}-{moment.strftime(STAMP_FORMAT)}"


def is_versioned(alias: str, name: str) -> bool:
    """Whether `name` is one of the versioned indexes behind `alias` (any mapping version)."""
    return re.fullmatch(re.escape(alias) + r"-v\d+-\d{14}", name) is not None


def _keyword(**extra: Any) -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": _KEYWORD_MAX, **extra}


def mappings() -> dict[str, Any]:
    stream_s = {"type": "text", "analyzer": "whitespace", "index_options": "positions"}
    # Prefix wildcards only test presence: no positions, no norms.
    stream_f = {"type": "text", "analyzer": "whitespace", "index_options": "docs",
                "norms": False}
    display = {"type": "text", "index": False}
    return {
        "dynamic": "strict",
        "_meta": {"pesquisa_mapping": MAPPING_VERSION},
        "_source": {"excludes": [*TEXT_STREAMS, "source_key", "entity", "kind", "crime",
                                 CRIME_FACET, FACET_FIELD, "published_at"]},
        # An entity kind outside ENTITY_KINDS still indexes (as a keyword facet field) rather
        # than failing the document.
        "dynamic_templates": [
            {"facet_kinds": {"path_match": f"{FACET_FIELD}.*", "mapping": _keyword()}},
        ],
        "properties": {
            "doc_id": _keyword(),
            "url": {"type": "keyword", "index": False, "doc_values": False},
            "title": display,
            "text": display,
            "title_s": stream_s,
            "text_s": stream_s,
            "title_f": stream_f,
            "text_f": stream_f,
            "published": {"type": "keyword", "index": False, "doc_values": False},
            "published_at": {"type": "date", "format": "epoch_millis"},
            "day": {"type": "date", "format": "yyyy-MM-dd"},
            "source": _keyword(),
            "source_key": _keyword(),
            "language": _keyword(),
            "cluster": _keyword(),
            "entity": _keyword(),
            "kind": _keyword(),
            "crime": _keyword(),
            CRIME_FACET: _keyword(),
            FACET_FIELD: {
                "type": "object",
                "dynamic": True,
                "properties": {kind: _keyword() for kind in facet_kinds(ENTITY_KINDS)},
            },
        },
    }


def index_settings(shards: int, replicas: int, *, filling: bool = False) -> dict[str, Any]:
    """Settings of a new index; `filling`: no refresh and no replica while a rebuild bulks."""
    return {
        "index": {
            "number_of_shards": shards,
            "number_of_replicas": 0 if filling else replicas,
            "refresh_interval": "-1" if filling else "1s",
            "max_result_window": MAX_WINDOW,
        }
    }


def document(doc: IndexDocument) -> dict[str, Any]:
    """The body indexed for a document (its `_id` is the document id)."""
    title_s, text_s, title_f, text_f = analysis.streams(doc.title, doc.text)
    values = keyword_values(doc)
    return {
        "doc_id": doc.id,
        "url": doc.url,
        "title": doc.title,
        "text": doc.text,
        "title_s": title_s,
        "text_s": text_s,
        "title_f": title_f,
        "text_f": text_f,
        "published": doc.published,
        "published_at": doc.published_ms,
        "day": doc.day,
        "source": doc.source,
        "source_key": sorted(values["source"]),
        "language": doc.language,
        "cluster": doc.cluster or doc.id,
        "entity": sorted(values["entity"]),
        "kind": sorted(values["kind"]),
        "crime": sorted(values["crime"]),
        CRIME_FACET: sorted(values[keywords.CRIME_FACET]),
        FACET_FIELD: {field.removeprefix(keywords.ENTITY_FACET): sorted(group)
                      for field, group in sorted(values.items())
                      if field.startswith(keywords.ENTITY_FACET)},
    }
