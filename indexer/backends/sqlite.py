"""The embedded index: SQLite FTS5, accent-insensitive, BM25 with the title weighted up."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from indexer.backends.fts5_query import compile_query
from indexer.base import Hit, IndexDocument, SearchResult, Sort
from indexer.query import parse
from pesquisa.errors import FixInput, NotFound, RetryLater
from pesquisa.sqlite import connect, is_busy

TITLE_WEIGHT, TEXT_WEIGHT = 5.0, 1.0
SNIPPET_BEFORE, SNIPPET_AFTER = 90, 200  # characters around the first match
_OPEN, _CLOSE = "\x02", "\x03"  # markers that survive html.escape, then become <mark>

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    rowid      INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    url        TEXT NOT NULL,
    source     TEXT NOT NULL,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    published  TEXT,
    language   TEXT,
    entities   TEXT NOT NULL DEFAULT '[]',
    indexed_at TEXT NOT NULL,
    cluster    TEXT  -- the near-duplicate cluster's primary id; NULL: its own id
);
CREATE INDEX IF NOT EXISTS docs_source ON docs(source);
CREATE INDEX IF NOT EXISTS docs_cluster ON docs(cluster);
CREATE INDEX IF NOT EXISTS docs_published ON docs(published);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
    title, text, content='docs', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS docs_ai AFTER INSERT ON docs BEGIN
    INSERT INTO docs_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;
CREATE TRIGGER IF NOT EXISTS docs_ad AFTER DELETE ON docs BEGIN
    INSERT INTO docs_fts(docs_fts, rowid, title, text)
    VALUES ('delete', old.rowid, old.title, old.text);
END;
CREATE TRIGGER IF NOT EXISTS docs_au AFTER UPDATE ON docs BEGIN
    INSERT INTO docs_fts(docs_fts, rowid, title, text)
    VALUES ('delete', old.rowid, old.title, old.text);
    INSERT INTO docs_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;
PRAGMA user_version = 2
"""


_MARK = re.compile(f"{_OPEN}(.*?){_CLOSE}", re.S)
MAX_MARKS = 500  # where to look for the best window: the first matches are enough


def _best_anchor(marked: str) -> int:
    """Where the window with the most distinct matched words starts (the earliest on ties)."""
    marks = [(m.start(), m.group(1).casefold()) for m, _ in zip(
        _MARK.finditer(marked), range(MAX_MARKS), strict=False)]
    if not marks:
        return 0
    best, best_count, right = marks[0][0], 0, 0
    for left, (position, _) in enumerate(marks):
        right = max(right, left)
        while right + 1 < len(marks) and marks[right + 1][0] < position + SNIPPET_AFTER:
            right += 1
        count = len({word for _, word in marks[left:right + 1]})
        if count > best_count:
            best, best_count = position, count
    return best


WORD_SLACK = 30  # how far to look for a space to cut at, before cutting inside a word


def _word_start(text: str, pos: int) -> int:
    if pos <= 0:
        return 0
    space = text.rfind(" ", max(pos - WORD_SLACK, 0), pos)
    return space + 1 if space >= 0 else pos


def _word_end(text: str, pos: int) -> int:
    if pos >= len(text):
        return len(text)
    space = text.find(" ", pos, pos + WORD_SLACK)
    return space if space >= 0 else pos


def _snippet(marked: str) -> str:
    """A window of text around the best match, HTML-escaped, with matches in <mark>.

    FTS5's own snippet() costs time quadratic in the number of matches in a document (minutes
    for a long bulletin full of one word); highlight() is linear, and the window is cut here,
    where the most distinct query words meet.
    """
    first = _best_anchor(marked)
    start = _word_start(marked, first - SNIPPET_BEFORE)
    end = _word_end(marked, first + SNIPPET_AFTER)
    # Never cut through a marked phrase: widen the window to its ends.
    if marked.rfind(_OPEN, 0, start) > marked.rfind(_CLOSE, 0, start):
        start = marked.rfind(_OPEN, 0, start)
    if marked.rfind(_OPEN, 0, end) > marked.rfind(_CLOSE, 0, end):
        close = marked.find(_CLOSE, end)
        end = len(marked) if close < 0 else close + 1
    window = " ".join(marked[start:end].split())
    escaped = html.escape(window, quote=False).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
    return ("…" if start > 0 else "") + escaped + ("…" if end < len(marked) else "")


class SqliteIndex:
    """The FTS5 index in its own database file, rebuilt at will from the store."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if not create and not path.exists():
            raise NotFound("E505", path=path)
        try:
            self.db = connect(path)
            self._add_cluster_column()
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise RetryLater("E504", reason=f"{path}: {exc}") from None
        self._lock = threading.Lock()  # the API may share one index between threads

    def _add_cluster_column(self) -> None:
        """An index made before clusters (version 1) gains the column in place: rows, rowids
        and FTS entries stay; its rows count as their own cluster until indexed again."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(docs)")}
            if columns and "cluster" not in columns:
                self.db.execute("ALTER TABLE docs ADD COLUMN cluster TEXT")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()

    def upsert(self, docs: Sequence[IndexDocument]) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [
            (d.id, d.url, d.source, d.title, d.text, d.published, d.language,
             json.dumps(list(d.entities), ensure_ascii=False), stamp, d.cluster or d.id)
            for d in docs
        ]
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(
                    """
                    INSERT INTO docs (id, url, source, title, text, published, language,
                        entities, indexed_at, cluster)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET
                        url = excluded.url, source = excluded.source, title = excluded.title,
                        text = excluded.text, published = excluded.published,
                        language = excluded.language, entities = excluded.entities,
                        indexed_at = excluded.indexed_at, cluster = excluded.cluster
                    """,
                    rows,
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            self.db.executemany("DELETE FROM docs WHERE id = ?", [(i,) for i in ids])

    def count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def ids(self) -> Iterator[str]:
        with self._lock:
            rows = self.db.execute("SELECT id FROM docs ORDER BY id").fetchall()
        return iter(row[0] for row in rows)

    def search(
        self, query: str, *, limit: int = 20, offset: int = 0, sort: Sort = "relevance"
    ) -> SearchResult:
        if not 0 <= limit <= 1000 or offset < 0:
            raise FixInput("E502", reason="limit must be 0..1000 and offset >= 0")
        compiled = compile_query(parse(query))
        where = " AND ".join(compiled.where) or "1"
        if compiled.match is not None:
            source = "docs_fts JOIN docs d ON d.rowid = docs_fts.rowid"
            condition = f"docs_fts MATCH ? AND {where}"
            params: list[object] = [compiled.match, *compiled.params]
            snippet = f"highlight(docs_fts, 1, '{_OPEN}', '{_CLOSE}')"
            snippet_source = "docs_fts WHERE docs_fts MATCH ? AND"
            snippet_params: list[object] = [compiled.match]
            score = f"bm25(docs_fts, {TITLE_WEIGHT}, {TEXT_WEIGHT})"
            order = "score" if sort == "relevance" else "published DESC"
        else:
            source = "docs d"
            condition = where
            params = list(compiled.params)
            snippet = f"substr(text, 1, {SNIPPET_BEFORE + SNIPPET_AFTER})"
            snippet_source, snippet_params = "docs WHERE", []
            score = "NULL"
            order = "published DESC"
        # One hit per near-duplicate cluster: its best member by the same order as the page,
        # with the number of other members that matched.
        cluster = "COALESCE(d.cluster, d.id)"
        try:
            with self._lock:
                total = self.db.execute(
                    f"SELECT COUNT(DISTINCT {cluster}) FROM {source} WHERE {condition}", params
                ).fetchone()[0]
                rows = self.db.execute(
                    f"""WITH matched AS (
                            SELECT d.rowid AS row, d.id, d.url, d.title, d.published, d.source,
                                {score} AS score, {cluster} AS cluster
                            FROM {source} WHERE {condition}),
                        ranked AS (
                            SELECT *, ROW_NUMBER() OVER (
                                    PARTITION BY cluster ORDER BY {order}, id) AS place,
                                COUNT(*) OVER (PARTITION BY cluster) AS members
                            FROM matched)
                        SELECT row, id, url, title, published, source, score, members - 1
                        FROM ranked WHERE place = 1
                        ORDER BY {order}, id LIMIT ? OFFSET ?""",
                    [*params, limit, offset],
                ).fetchall()
                # Snippets for this page only: highlight() reads each document's text.
                marks = ",".join("?" * len(rows))
                snippets = dict(self.db.execute(
                    f"SELECT rowid, {snippet} FROM {snippet_source} rowid IN ({marks})",
                    [*snippet_params, *(r[0] for r in rows)],
                ).fetchall()) if rows else {}
        except sqlite3.OperationalError as exc:
            # The database being busy or broken is the index's problem; anything else that
            # FTS5 refuses is the query's.
            if is_busy(exc) or any(word in str(exc) for word in ("disk", "corrupt", "I/O")):
                raise RetryLater("E504", reason=str(exc)) from None
            raise FixInput("E502", reason=str(exc)) from None
        hits = [
            Hit(id=r[1], url=r[2], title=r[3], published=r[4], source=r[5],
                snippet=_snippet(snippets.get(r[0]) or ""),
                score=None if r[6] is None else -float(r[6]), duplicates=int(r[7]))
            for r in rows
        ]
        return SearchResult(total=int(total), hits=hits)
