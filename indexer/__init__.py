"""Index backends and the query layer: one query language, compiled per backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.base import IndexBackend
    from pesquisa.settings import Settings


def open_index(
    settings: Settings, *, create: bool = True, backend: str | None = None
) -> IndexBackend:
    """The index backend the settings choose (or `backend`); without `create`, only an
    existing index (NotFound E505 otherwise)."""
    chosen = backend or settings.index_backend
    if chosen == "elasticsearch":
        from indexer.backends.elasticsearch import ElasticsearchIndex

        return ElasticsearchIndex(settings, create=create)
    from indexer.backends.sqlite import SqliteIndex

    return SqliteIndex(settings.index_path, create=create)
