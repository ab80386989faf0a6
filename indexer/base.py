"""The backend interface every index implements, and the shapes it returns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Sort = Literal["relevance", "date"]


@dataclass(frozen=True)
class IndexDocument:
    """A document as the index sees it: text, metadata and its distinct entities."""

    id: str
    url: str
    source: str
    title: str
    text: str
    published: str | None
    language: str | None = None
    entities: Sequence[dict[str, str]] = ()
    cluster: str = ""  # near-duplicate cluster: the primary's id; empty means its own id


@dataclass(frozen=True)
class Hit:
    id: str
    url: str
    title: str
    published: str | None
    source: str
    snippet: str
    score: float | None = None
    duplicates: int = 0  # other members of its near-duplicate cluster that matched too


@dataclass
class SearchResult:
    """Near-duplicates collapsed: one hit per cluster, and `total` counts clusters."""

    total: int
    hits: list[Hit] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape, the same for the CLI and /api/search."""
        return {
            "total": self.total,
            "hits": [
                {k: v for k, v in asdict(hit).items() if k != "score"} for hit in self.hits
            ],
        }


class IndexBackend(Protocol):
    """What every index offers. Writes go through one writer: the processing worker."""

    def upsert(self, docs: Sequence[IndexDocument]) -> None:
        """Add or replace documents by id; indexing the same document twice keeps one copy."""

    def delete(self, ids: Sequence[str]) -> None: ...

    def search(
        self, query: str, *, limit: int = 20, offset: int = 0, sort: Sort = "relevance"
    ) -> SearchResult: ...

    def count(self) -> int: ...

    def ids(self) -> Iterator[str]:
        """Every indexed document id (for checks and reindexing)."""
        ...

    def close(self) -> None: ...
