"""The backend interface every index implements, and the shapes it returns.

Both backends take the same query (parsed once by `indexer/query.py` into the tree of
`indexer/plan.py`) and return the same `SearchResult`, whose `to_json()` is the public shape of
`pesquisa search --json` and `/api/search`.

What later stages build on:
- alerts match saved queries against a new batch: `search(query, ids=batch_ids)`;
- analysts' timelines and co-mention networks: `search(entity_query, facets=True,
  facet_size=N, interval=...)` gives the entities mentioned with one entity and its histogram;
- the web UI: everything above, plus `count()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pesquisa.errors import FixInput

Sort = Literal["relevance", "date"]
Interval = Literal["day", "week", "month"]
SORTS: tuple[Sort, ...] = ("relevance", "date")
INTERVALS: tuple[Interval, ...] = ("day", "week", "month")
MAX_LIMIT = 1000
MAX_WINDOW = 10_000  # offset + limit: as deep as Elasticsearch pages by default
MAX_FACET_SIZE = 1000
DEFAULT_FACET_SIZE = 10


@dataclass(frozen=True)
class IndexEntity:
    """An entity a document mentions: its id, canonical name, kind, and the names it appears
    under in this document (all of them find the document with `entity:`)."""

    id: str
    name: str
    kind: str
    aliases: Sequence[str] = ()


@dataclass(frozen=True)
class IndexDocument:
    """A document as the index sees it: text, metadata, its entities and crime types."""

    id: str
    url: str
    source: str
    title: str
    text: str
    published: str | None  # ISO 8601 with the Lima offset, as the store keeps it
    language: str | None = None
    entities: Sequence[IndexEntity] = ()
    crime_types: Sequence[str] = ()  # crime-type codes (config/kb/crime_types.yml)
    cluster: str = ""  # near-duplicate cluster: the primary's id; empty means its own id

    @property
    def day(self) -> str | None:
        """The Lima day it was published on ("YYYY-MM-DD"; `published` carries the Lima
        offset, so its own calendar day): what date filters and the histogram use. None
        without a date, or with one `datetime.fromisoformat` cannot read."""
        moment = _moment(self.published)
        return None if moment is None else moment.date().isoformat()

    @property
    def published_ms(self) -> int | None:
        """Milliseconds since the epoch, for the date sort (a time without an offset is UTC);
        None exactly when `day` is None."""
        moment = _moment(self.published)
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)


def _moment(published: str | None) -> datetime | None:
    """`published` read as both backends read it; None when it is no date."""
    if not published:
        return None
    try:
        return datetime.fromisoformat(published)
    except ValueError:
        return None


@dataclass(frozen=True)
class Hit:
    id: str
    url: str
    title: str
    published: str | None
    source: str
    snippet: str  # HTML: escaped text, matches in <mark>
    score: float | None = None
    duplicates: int = 0  # other members of its near-duplicate cluster that matched too


@dataclass(frozen=True)
class Bucket:
    """A facet value and how many matching documents have it (`label`: a display name)."""

    value: str
    count: int
    label: str | None = None


@dataclass
class Facets:
    """Counts over every matching document (before near-duplicates are collapsed).

    Values are sorted by count, then value; `entities` has one list per entity kind; `published`
    is a histogram of Lima days, weeks (Monday) or months (the 1st), empty buckets included.
    """

    source: list[Bucket] = field(default_factory=list)
    entities: dict[str, list[Bucket]] = field(default_factory=dict)
    crime: list[Bucket] = field(default_factory=list)
    interval: Interval = "month"
    published: list[Bucket] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def rows(buckets: list[Bucket]) -> list[dict[str, Any]]:
            return [{k: v for k, v in asdict(b).items() if v is not None} for b in buckets]

        return {
            "source": rows(self.source),
            "entities": {kind: rows(b) for kind, b in self.entities.items()},
            "crime": rows(self.crime),
            "published": {"interval": self.interval, "buckets": rows(self.published)},
        }


@dataclass
class SearchResult:
    """Near-duplicates collapsed: one hit per cluster, and `total` counts clusters."""

    total: int
    hits: list[Hit] = field(default_factory=list)
    facets: Facets | None = None

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape, the same for the CLI and /api/search, from either backend."""
        shape: dict[str, Any] = {
            "total": self.total,
            "hits": [
                {k: v for k, v in asdict(hit).items() if k != "score"} for hit in self.hits
            ],
        }
        if self.facets is not None:
            shape["facets"] = self.facets.to_json()
        return shape


def check_search(limit: int, offset: int, sort: str, interval: str, facet_size: int) -> None:
    """FixInput E502 for search parameters out of range (the same limits in every backend)."""
    if not 0 <= limit <= MAX_LIMIT:
        raise FixInput("E502", reason=f"limit must be 0..{MAX_LIMIT}, not {limit}")
    if offset < 0 or offset + limit > MAX_WINDOW:
        raise FixInput("E502", reason=f"offset must be >= 0 and offset + limit at most "
                                      f"{MAX_WINDOW}, not {offset} + {limit}")
    if sort not in SORTS:
        raise FixInput("E502", reason=f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if interval not in INTERVALS:
        raise FixInput("E502", reason=f"interval must be one of {', '.join(INTERVALS)}, "
                                      f"not {interval!r}")
    if not 1 <= facet_size <= MAX_FACET_SIZE:
        raise FixInput("E502", reason=f"facet_size must be 1..{MAX_FACET_SIZE}, "
                                      f"not {facet_size}")


class IndexBackend(Protocol):
    """What every index offers. Writes go through one writer: the processing worker (or
    `pesquisa reindex`, which holds the same lock)."""

    name: str  # "sqlite" or "elasticsearch"
    # True when this index was just created empty, or upgraded from an older format, while
    # the store may already hold indexed documents: the worker then queues them again.
    needs_reindex: bool

    def upsert(self, docs: Sequence[IndexDocument]) -> dict[str, str]:
        """Add or replace documents by id; indexing the same document twice keeps one copy.
        Visible to searches once this returns. Returns the documents the index refused for
        good (sending them again cannot help), id -> one-line reason; the others are indexed.
        A failure that may pass (the index unreachable, overloaded) raises RetryLater E504
        instead, and the whole batch may be sent again."""
        ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        offset: int = 0,
        sort: Sort = "relevance",
        facets: bool = False,
        interval: Interval = "month",
        facet_size: int = DEFAULT_FACET_SIZE,
        ids: Sequence[str] | None = None,
    ) -> SearchResult:
        """Documents matching `query` (FixInput E501/E502 if it is malformed or unsupported),
        one per near-duplicate cluster. `ids` restricts the search to those documents (how
        alerts test a new batch). Without text terms, results sort by date."""
        ...

    def count(self) -> int: ...

    def ids(self) -> Iterator[str]:
        """Every indexed document id (for checks and reindexing)."""
        ...

    def rebuild(self, batches: Iterable[Sequence[IndexDocument]]) -> int:
        """Build a fresh index from `batches` beside the current one, then switch searches to
        it at once (SQLite: new tables in the same file, renamed into place in one
        transaction; Elasticsearch: a new versioned index and an atomic alias swap). Searches
        keep working on the old one meanwhile; a failure, of the batches too, leaves the old
        one in place and raises RetryLater E508. Returns the number of documents indexed."""
        ...

    def close(self) -> None: ...
