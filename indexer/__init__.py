"""Index backends and the query layer: one query language, compiled per backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pesquisa.errors import FixInput

if TYPE_CHECKING:
    from indexer.base import IndexBackend
    from pesquisa.settings import Settings


def open_index(settings: Settings, *, create: bool = True) -> IndexBackend:
    """The index backend the settings choose; without `create`, only an existing index."""
    if settings.index_backend == "sqlite":
        from indexer.backends.sqlite import SqliteIndex

        return SqliteIndex(settings.index_path, create=create)
    raise FixInput("E503", backend=settings.index_backend)
