"""The embedded index: SQLite FTS5 over our analyzed token streams, with keyword tables.

One database file (schema version 3) holds:
- `docs`: one narrow row per document (id, cluster, source, Lima day, date sort key, the keys
  of the facet values it is counted under); `bodies`: what a hit displays (url, title, the
  original text...), read for the page's hits only;
- `docs_fts`: a contentless FTS5 table over four space-joined token streams computed by
  `indexer/analysis.py` (`title_s`, `text_s`: stems; `title_f`, `text_f`: folded words, for
  prefix queries). The original text is stored once, in `bodies`: deleting a document from the
  FTS index recomputes its streams from it (a contentless table needs the deleted values),
  which is why an index analyzed otherwise than this Pesquisa analyzes is rebuilt (below);
- `keys` (field, value) and `doc_keys`: the folded keyword values a document is found by
  (source, entity id / name / alias, kind, crime), and the facet values (source, crime type,
  "id<TAB>name" per entity kind) that `docs.facets` lists; `indexer/keywords.py` computes
  them, for Elasticsearch too.

A search takes one snapshot (a read transaction) and:
1. evaluates the query to a set of documents, a mask over rowids: one FTS5 MATCH per part of
   the query FTS5 answers alone, one lookup per keyword filter, AND/OR/NOT and date ranges
   with numpy over a columnar copy of `docs` (kept per connection, reloaded when the index
   changes: `meta.version`);
2. ranks by bm25 in FTS5 with a bounded sort of the best rows only (reading further when
   ties, clusters or filters reach the last row read), or by date with numpy;
3. collapses near-duplicate clusters, counts them, and counts facets and the date histogram
   with numpy over the whole set: no Python loop per matching document.

`rebuild()` writes a new generation of the tables inside the same file and renames it into
place in one transaction: other processes (the API server) keep their WAL connections, and
search the old generation until then. A failure leaves the old generation searchable.

`needs_reindex` is True when this index lacks documents it should have: it was just created,
or it was made by an older Pesquisa (schema 1 or 2, without analyzed columns) or with another
text analysis (another stemmer version), in which case it was emptied and upgraded when opened.
The flag is kept in the file until someone sets it to False (the worker, once it has queued the
store's documents for indexing again); `rebuild()` clears it too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from indexer import analysis, facets
from indexer.backends.fts5_query import BM25, keyword_rowids, ranking, split, text_expression
from indexer.base import (
    DEFAULT_FACET_SIZE,
    Bucket,
    Facets,
    Hit,
    IndexDocument,
    Interval,
    SearchResult,
    Sort,
    check_search,
)
from indexer.highlight import Highlighter
from indexer.keywords import (
    CRIME_FACET,
    ENTITY_FACET,
    FACET,
    SEARCHED,
    SOURCE_FACET,
    keyword_values,
)
from indexer.plan import And, DateRange, Keyword, MatchAll, Node, Not, Or, has_text
from indexer.query import plan
from pesquisa.errors import FixInput, NotFound, PesquisaError, RetryLater
from pesquisa.sqlite import connect

SCHEMA_VERSION = 3
TABLES = ("docs", "bodies", "docs_fts", "keys", "doc_keys")
NEXT, OLD = "_next", "_old"  # suffixes of a generation being built, and of the one replaced
MMAP_BYTES = 1 << 30  # read the index through the page cache rather than copies
CACHE_KIB = 64 * 1024
UNDATED = np.iinfo(np.int64).max  # sorts after every date (the date sort is by -published)
JULIAN_ORDINAL = 1721424.5  # julianday(d) - this = date.toordinal()
# A sample of what the analysis does: an index built with another result is rebuilt, since
# its token streams could neither be deleted nor found with this one's.
_ANALYSIS_PROBE = (
    "Lavados de ACTIVOS: la Fiscalía investigó 12 extorsiones, ñandúes y pingüinos en Pataz; "
    "corrupción, organizaciones criminales, sicariato, colusión agravada, cuestionó, Ⅻ ß Œ"
)

_SCHEMA = """
CREATE TABLE docs{s} (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    cluster TEXT NOT NULL,      -- the near-duplicate cluster: its primary's id, or its own
    source TEXT NOT NULL,
    day TEXT,                   -- Lima day "YYYY-MM-DD", NULL without a date
    published_at INTEGER,       -- milliseconds since the epoch, for the date sort
    -- what searches count, read in bulk (see _Columns):
    id_key INTEGER NOT NULL,    -- the first 8 bytes of the id, in the order of ids
    cluster_key INTEGER NOT NULL, -- 64 bits of a digest of the cluster
    facets TEXT NOT NULL,       -- "key,key,...": the facet values it is counted under
    facet_count INTEGER NOT NULL
);
CREATE UNIQUE INDEX docs_id_{g} ON docs{s}(id);
CREATE TABLE bodies{s} (
    rowid INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    published TEXT,
    language TEXT,
    indexed_at TEXT NOT NULL
);
-- 'ascii': our tokens (indexer/analysis.py) are already lowercased and folded, and this
-- tokenizer splits only on ASCII non-alphanumerics, so it keeps each of them whole, where
-- unicode61's older Unicode tables would split some letters Python knows (U+19B0...).
CREATE VIRTUAL TABLE docs_fts{s} USING fts5(
    title_s, text_s, title_f, text_f, content='', tokenize='ascii'
);
CREATE TABLE keys{s} (key INTEGER PRIMARY KEY, field TEXT NOT NULL, value TEXT NOT NULL);
CREATE UNIQUE INDEX keys_value_{g} ON keys{s}(field, value);
CREATE TABLE doc_keys{s} (
    key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (key, doc)
) WITHOUT ROWID;
CREATE INDEX doc_keys_doc_{g} ON doc_keys{s}(doc)
"""
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
# What versions 1 and 2 created: one docs table with the text, an FTS5 table over it.
_LEGACY = ("TRIGGER docs_ai", "TRIGGER docs_ad", "TRIGGER docs_au", "TABLE docs_fts",
           "TABLE docs")

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@contextmanager
def _transaction(db: sqlite3.Connection, begin: str) -> Iterator[None]:
    db.execute(begin)
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def _errors(path: Path, query: bool = False) -> Iterator[None]:
    """SQLite's errors as ours. With `query` (a search), an expression FTS5 refuses is the
    query's (E502); anything else (busy, read-only, damaged, missing tables) is the index's
    problem, whatever was asked (E504, retry later)."""
    try:
        yield
    except sqlite3.Error as exc:
        reason = _one_line(str(exc))
        if query and isinstance(exc, sqlite3.OperationalError) and reason.startswith("fts5:"):
            raise FixInput("E502", reason=reason) from None
        raise RetryLater("E504", reason=f"{path}: {reason}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def analysis_fingerprint() -> str:
    """A digest of what `indexer/analysis.py` makes of a sample text."""
    sample = analysis.analyze(_ANALYSIS_PROBE)
    blob = json.dumps([analysis.MAX_TOKEN_CHARS, sorted(analysis.STOP_WORDS), sample])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _id_key(doc_id: str) -> int:
    """An integer in the order of ids (SQLite and Python compare UTF-8 bytes alike), but for
    ids that share their first 8 bytes."""
    return int.from_bytes(doc_id.encode()[:8].ljust(8, b"\0"), "big") - (1 << 63)


def _digest(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big",
                          signed=True)


def _keys(doc: IndexDocument) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The (field, value) pairs a document is found by, and those it is counted under."""
    values = keyword_values(doc)
    found = {(field, value) for field in SEARCHED for value in values[field]}
    counted = {(field, value) for field, group in values.items() if field.startswith(FACET)
               for value in group}
    return found, counted


def _integers(joined: str | None) -> IntArray:
    """The integers of a comma-separated string (what group_concat gives)."""
    return np.fromstring(joined or "", np.int64, sep=",")


def _by_id(db: sqlite3.Connection, rowids: IntArray, id_keys: IntArray) -> IntArray:
    """`rowids` in the order of their documents' ids."""
    ordered = np.argsort(id_keys, kind="stable")
    keys = id_keys[ordered]
    tied = np.flatnonzero(keys[1:] == keys[:-1])
    if len(tied):  # ids that share their first 8 bytes: order those by the whole id
        members = np.union1d(tied, tied + 1)  # positions in `ordered`, group after group
        names = dict(db.execute(
            "SELECT rowid, id FROM docs WHERE rowid IN (SELECT value FROM json_each(?))",
            [json.dumps(rowids[ordered[members]].tolist())]))
        place = sorted(range(len(members)), key=lambda j: (
            int(keys[members[j]]), names[int(rowids[ordered[members[j]]])]))
        ordered[members] = ordered[members][place]
    return rowids[ordered]


class _Rows:
    """A batch analyzed for writing (the CPU-heavy part, done before taking the lock)."""

    def __init__(self, docs: Sequence[IndexDocument]) -> None:
        latest = {doc.id: doc for doc in docs}  # the same id twice in a batch: the last one
        self.docs = list(latest.values())
        self.streams = [analysis.streams(doc.title, doc.text) for doc in self.docs]
        self.keys = [_keys(doc) for doc in self.docs]


class _Columns:
    """The per-document values a search counts, as arrays indexed by rowid: one snapshot of
    one version of the index."""

    def __init__(self, db: sqlite3.Connection, version: str) -> None:
        self.version = version
        # One scan, each column read as one comma-separated string: no Python object per
        # row. The columns line up row by row, whatever order SQLite reads the rows in.
        columns = db.execute(
            "SELECT group_concat(rowid), group_concat(id_key), group_concat(cluster_key), "
            f"group_concat(COALESCE(CAST(julianday(day) - {JULIAN_ORDINAL} AS INTEGER), 0)), "
            f"group_concat(COALESCE(-published_at, {UNDATED})), group_concat(facet_count), "
            "group_concat(facets) FROM docs").fetchone()
        order, id_keys, clusters, days, later, lengths, keys = (_integers(c) for c in columns)
        size = int(order.max()) + 1 if len(order) else 1
        self.present = np.zeros(size, np.bool_)
        self.present[order] = True
        self.rank = np.zeros(size, np.int64)  # the order of ids: ties are broken by id
        self.rank[_by_id(db, order, id_keys)] = np.arange(len(order))
        _, cluster_numbers = np.unique(clusters, return_inverse=True)
        self.cluster = np.full(size, -1, np.int64)
        self.cluster[order] = cluster_numbers
        self.clusters = int(cluster_numbers.max()) + 1 if len(order) else 0
        self.day = np.zeros(size, np.int64)  # date.toordinal(); 0: no date
        self.day[order] = days
        self.later = np.full(size, UNDATED, np.int64)  # -published: ascending is newest first
        self.later[order] = later
        # every document's facet keys (each has one at least: its source), and where they are
        self.keys = keys
        self.start = np.zeros(size, np.int64)
        self.start[order] = np.cumsum(lengths) - lengths
        self.length = np.zeros(size, np.int64)
        self.length[order] = lengths
        self.fields: dict[str, tuple[IntArray, list[str]]] = {}
        grouped: dict[str, list[tuple[str, int]]] = {}
        for key, field, value in db.execute(
            "SELECT key, field, value FROM keys WHERE field GLOB ?", [FACET + "*"]
        ):
            grouped.setdefault(field, []).append((value, key))
        self.key_count = 1 + max((k for pairs in grouped.values() for _, k in pairs), default=0)
        for field, pairs in grouped.items():
            pairs.sort()  # by value: the order of ties
            self.fields[field] = (np.array([k for _, k in pairs], np.int64),
                                  [v for v, _ in pairs])

    def mask(self, rowids: IntArray) -> BoolArray:
        found = np.zeros(len(self.present), np.bool_)
        found[rowids] = True
        return found

    def collapse(self, ordered: IntArray, offset: int, limit: int) -> tuple[IntArray, IntArray]:
        """Of rowids in page order: the best member of each cluster, from the `offset`-th
        cluster on (at most `limit`), and their positions in `ordered`."""
        _, first = np.unique(self.cluster[ordered], return_index=True)
        first.sort()
        positions = first[offset:offset + limit]
        return ordered[positions], positions

    def facet_counts(self, rowids: IntArray) -> IntArray:
        starts, lengths = self.start[rowids], self.length[rowids]
        shifts = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        entries = self.keys[shifts + np.arange(int(lengths.sum()))]
        return np.bincount(entries, minlength=self.key_count)

    def top(self, field: str, counts: IntArray, size: int) -> list[Bucket]:
        """The `size` values of a facet field with the most documents, ties by value."""
        if field not in self.fields:
            return []
        keys, values = self.fields[field]
        found = counts[keys]
        present = np.flatnonzero(found)
        best = present[np.argsort(-found[present], kind="stable")][:size]
        return [Bucket(values[i], int(found[i])) for i in best]


class _Matcher:
    """Evaluates a query tree to the set of documents it matches, as a mask over rowids: one
    FTS5 query per part FTS5 answers alone, keyword lookups, date ranges on the snapshot."""

    def __init__(self, db: sqlite3.Connection, columns: _Columns) -> None:
        self.db, self.columns = db, columns
        self.seen: dict[str, IntArray] = {}  # rowids per FTS5 expression asked for

    def rows(self, sql: str, params: Sequence[object]) -> BoolArray:
        """A mask of the rowids a `SELECT group_concat(rowid) ...` gives."""
        (found,) = self.db.execute(sql, params).fetchone()
        return self.columns.mask(_integers(found))

    def text(self, expression: str) -> BoolArray:
        (found,) = self.db.execute(
            "SELECT group_concat(rowid) FROM docs_fts WHERE docs_fts MATCH ?", [expression]
        ).fetchone()
        rowids = _integers(found)
        self.seen[expression] = rowids
        return self.columns.mask(rowids)

    def match(self, node: Node) -> BoolArray:
        expression = text_expression(node)
        if expression is not None:
            return self.text(expression)
        columns = self.columns
        if isinstance(node, Keyword):
            return self.rows(*keyword_rowids(node))
        if isinstance(node, DateRange):
            days = columns.day
            found = days > 0  # a document without a date is in no range
            if node.start is not None:
                found &= days >= date.fromisoformat(node.start).toordinal()
            if node.end is not None:
                found &= days <= date.fromisoformat(node.end).toordinal()
            return found
        if isinstance(node, MatchAll):
            return columns.present.copy()
        if isinstance(node, Not):
            return columns.present & ~self.match(node.child)
        if isinstance(node, Or):
            found = self.match(node.children[0])
            for child in node.children[1:]:
                found |= self.match(child)
            return found
        if isinstance(node, And):
            expression, others, rest = split(node)
            found = columns.present.copy() if expression is None else self.text(expression)
            for child in others:
                found &= self.match(child)
            for child in rest:
                found &= ~self.match(child)
            return found
        raise TypeError(f"not a query node: {node!r}")  # pragma: no cover


class SqliteIndex:
    """The FTS5 index in its own database file (see the module docstring for its layout)."""

    name = "sqlite"

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if not create and not path.exists():
            raise NotFound("E505", path=path)
        self._lock = threading.Lock()  # the API may share one index between threads
        self._columns: _Columns | None = None
        try:
            self.db = connect(path)
            self.db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self._needs_reindex = self._open_schema()
        except (OSError, sqlite3.Error) as exc:
            raise RetryLater("E504", reason=f"{path}: {exc}") from None

    # -- schema ---------------------------------------------------------------------------

    def _open_schema(self) -> bool:
        """Create or upgrade the schema; whether the index lacks documents it should have."""
        fingerprint = analysis_fingerprint()
        current = self._current(fingerprint)  # the usual case: no write lock to wait for
        if current is not None:
            return current
        with self._write():
            current = self._current(fingerprint)  # another process may have just done it
            if current is not None:
                return current
            # New, older (1 or 2) or analyzed otherwise: start empty, the worker refills it.
            self.db.execute(_META)
            meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
            for kind_name in _LEGACY:
                kind, object_name = kind_name.split()
                self.db.execute(f"DROP {kind} IF EXISTS {object_name}")
            self._drop_generation("")
            generation = int(meta.get("generation", "0")) + 1
            self._create_generation("", generation)
            self._set_meta(generation=str(generation), analysis=fingerprint, needs_reindex="1")
            self._changed()
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return True

    def _current(self, fingerprint: str) -> bool | None:
        """`needs_reindex` of an index this Pesquisa can use as it is; None when it must be
        created or upgraded first."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise FixInput("E506", index=self.path, found=version, needed=SCHEMA_VERSION)
        if version < SCHEMA_VERSION:
            return None
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("analysis") != fingerprint:
            return None
        return meta.get("needs_reindex") == "1"

    def _create_generation(self, suffix: str, generation: int) -> None:
        # one statement at a time: executescript() would commit the transaction first
        for statement in _SCHEMA.format(s=suffix, g=f"g{generation}").split(";"):
            if statement.strip():
                self.db.execute(statement)

    def _drop_generation(self, suffix: str) -> None:
        for table in TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS {table}{suffix}")

    def _set_meta(self, **values: str) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            list(values.items()))

    def _changed(self) -> None:
        """Count a change of the searched generation: snapshots of it are stale."""
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('version', '1') ON CONFLICT (key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    @property
    def needs_reindex(self) -> bool:
        return self._needs_reindex

    @needs_reindex.setter
    def needs_reindex(self, value: bool) -> None:
        with self._lock, self._errors(), self._write():
            self._set_meta(needs_reindex="1" if value else "0")
        self._needs_reindex = value

    def _errors(self, query: bool = False) -> AbstractContextManager[None]:
        return _errors(self.path, query)

    def _write(self) -> AbstractContextManager[None]:
        return _transaction(self.db, "BEGIN IMMEDIATE")

    def _read(self) -> AbstractContextManager[None]:
        """One snapshot for every statement of a search, whatever a rebuild does meanwhile."""
        return _transaction(self.db, "BEGIN")

    def close(self) -> None:
        self.db.close()

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, docs: Sequence[IndexDocument]) -> dict[str, str]:
        """Index `docs`; SQLite refuses no document, so none is returned."""
        if not docs:
            return {}
        rows = _Rows(docs)
        with self._lock, self._errors(), self._write():
            self._store(rows, "")
            self._changed()
        return {}

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._lock, self._errors(), self._write():
            self._remove(list(ids), "")
            self._changed()

    def _remove(self, ids: list[str], s: str) -> dict[str, int]:
        """Take documents out of generation `s`; the rowids they had, by id."""
        found = self.db.execute(
            f"SELECT d.rowid, d.id, b.title, b.text FROM docs{s} d "
            f"JOIN bodies{s} b ON b.rowid = d.rowid "
            f"WHERE d.id IN (SELECT value FROM json_each(?))", [json.dumps(ids)]).fetchall()
        if not found:
            return {}
        # A contentless FTS5 table forgets a row given the exact values it indexed.
        self.db.executemany(
            f"INSERT INTO docs_fts{s} (docs_fts{s}, rowid, title_s, text_s, title_f, text_f) "
            "VALUES ('delete', ?, ?, ?, ?, ?)",
            [(rowid, *analysis.streams(title, text)) for rowid, _, title, text in found])
        rowids = json.dumps([row[0] for row in found])
        for table, column in (("doc_keys", "doc"), ("bodies", "rowid"), ("docs", "rowid")):
            self.db.execute(
                f"DELETE FROM {table}{s} WHERE {column} IN (SELECT value FROM json_each(?))",
                [rowids])
        return {doc_id: rowid for rowid, doc_id, _, _ in found}

    def _store(self, rows: _Rows, s: str) -> None:
        """Write analyzed documents into generation `s` (inside a write transaction)."""
        previous = self._remove([doc.id for doc in rows.docs], s)
        top = max(self.db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM docs{s}").fetchone()[0],
                  *previous.values(), 0)
        rowid_of: dict[str, int] = {}
        for doc in rows.docs:  # a document indexed again keeps its rowid
            if doc.id in previous:
                rowid_of[doc.id] = previous[doc.id]
            else:
                top += 1
                rowid_of[doc.id] = top
        pairs = sorted({pair for found, counted in rows.keys for pair in found | counted})
        self.db.executemany(f"INSERT OR IGNORE INTO keys{s} (field, value) VALUES (?, ?)", pairs)
        key_of = {
            (field, value): key for key, field, value in self.db.execute(
                f"SELECT k.key, k.field, k.value FROM json_each(?) j "
                f"JOIN keys{s} k ON k.field = j.value ->> 0 AND k.value = j.value ->> 1",
                [json.dumps(pairs)])
        }
        self.db.executemany(
            f"INSERT INTO docs{s} (rowid, id, cluster, source, day, published_at, id_key, "
            "cluster_key, facets, facet_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(rowid_of[d.id], d.id, d.cluster or d.id, d.source, d.day, d.published_ms,
              _id_key(d.id), _digest(d.cluster or d.id),
              ",".join(str(key) for key in sorted(key_of[pair] for pair in counted)),
              len(counted))
             for d, (_, counted) in zip(rows.docs, rows.keys, strict=True)])
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.executemany(
            f"INSERT INTO bodies{s} (rowid, url, title, text, published, language, indexed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(rowid_of[d.id], d.url, d.title, d.text, d.published, d.language, stamp)
             for d in rows.docs])
        self.db.executemany(
            f"INSERT INTO docs_fts{s} (rowid, title_s, text_s, title_f, text_f) "
            "VALUES (?, ?, ?, ?, ?)",
            [(rowid_of[d.id], *streams)
             for d, streams in zip(rows.docs, rows.streams, strict=True)])
        self.db.executemany(
            f"INSERT INTO doc_keys{s} (key, doc) VALUES (?, ?)",
            [(key_of[pair], rowid_of[d.id])
             for d, (found, _) in zip(rows.docs, rows.keys, strict=True) for pair in found])

    def rebuild(self, batches: Iterable[Sequence[IndexDocument]]) -> int:
        """Build a new generation from `batches` beside the current one, then rename it into
        place in one transaction. Searches (in this and other processes) use the current one
        until then; a failure (of the batches too) drops the half-built one, leaves the
        current one in place and raises E508. Returns the number of documents indexed."""
        try:
            self._fill(batches)
            self._switch()
        except BaseException as exc:
            with self._lock:
                try:
                    with self._write():
                        self._drop_generation(NEXT)
                except sqlite3.Error:
                    pass  # the next rebuild drops it
            if isinstance(exc, PesquisaError):
                raise RetryLater("E508", reason=exc.message) from None
            if isinstance(exc, Exception):
                raise RetryLater("E508", reason=_one_line(f"{type(exc).__name__}: {exc}")) \
                    from None
            raise
        with self._lock:
            try:
                with self._write():
                    self._drop_generation(OLD)
            except sqlite3.Error:
                pass  # only space is lost until the next rebuild drops it
            with self._errors():
                return int(self.db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def _fill(self, batches: Iterable[Sequence[IndexDocument]]) -> None:
        """Write a new generation (suffix NEXT) from `batches`."""
        with self._lock, self._errors(), self._write():
            self._drop_generation(NEXT)
            self._drop_generation(OLD)  # a switch interrupted before its cleanup
            generation = int(self.db.execute(
                "SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]) + 1
            self._create_generation(NEXT, generation)
            self._set_meta(generation=str(generation))
        for batch in batches:
            if not batch:
                continue
            rows = _Rows(batch)  # analysis outside the lock: searches go on meanwhile
            with self._lock, self._errors(), self._write():
                self._store(rows, NEXT)

    def _switch(self) -> None:
        """Rename the NEXT generation into place (the current one becomes OLD)."""
        with self._lock, self._errors():
            with self._write():
                self.db.execute(f"INSERT INTO docs_fts{NEXT} (docs_fts{NEXT}) VALUES ('optimize')")
            with self._write():
                for table in TABLES:
                    self.db.execute(f"ALTER TABLE {table} RENAME TO {table}{OLD}")
                    self.db.execute(f"ALTER TABLE {table}{NEXT} RENAME TO {table}")
                self._set_meta(needs_reindex="0")
                self._changed()
            self._needs_reindex = False

    # -- reads ----------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock, self._errors():
            return int(self.db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def ids(self) -> Iterator[str]:
        with self._lock, self._errors():
            rows = self.db.execute("SELECT id FROM docs ORDER BY id").fetchall()
        return iter(row[0] for row in rows)

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
        tree = plan(query)
        check_search(limit, offset, sort, interval, facet_size)
        if sort == "relevance" and not has_text(tree):
            sort = "date"
        with self._lock, self._errors(query=True), self._read():
            columns = self._snapshot()
            matcher = _Matcher(self.db, columns)
            mask = matcher.match(tree)
            if ids is not None:
                mask &= matcher.rows(
                    "SELECT group_concat(rowid) FROM docs "
                    "WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(list(ids))])
            rowids = np.flatnonzero(mask)
            per_cluster = np.bincount(columns.cluster[rowids], minlength=columns.clusters)
            total = int(np.count_nonzero(per_cluster))
            page: list[tuple[int, float | None]] = []
            if limit and total > offset:
                if sort == "date":
                    ordered = rowids[np.lexsort((columns.rank[rowids], columns.later[rowids]))]
                    shown, _ = columns.collapse(ordered, offset, limit)
                    page = [(int(rowid), None) for rowid in shown]
                else:
                    page = self._ranked(tree, matcher, mask, rowids, offset, limit)
            hits = self._hits(page, tree, columns, per_cluster)
            counted = self._facets(columns, rowids, interval, facet_size) if facets else None
        return SearchResult(total=total, hits=hits, facets=counted)

    def _snapshot(self) -> _Columns:
        (version,) = self.db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if self._columns is None or self._columns.version != version:
            self._columns = None  # free the old arrays before loading the new ones
            self._columns = _Columns(self.db, version)
        return self._columns

    def _ranked(self, tree: Node, matcher: _Matcher, mask: BoolArray, rowids: IntArray,
                offset: int, limit: int) -> list[tuple[int, float | None]]:
        """The page by relevance: bm25, then id; documents matched by filters alone after
        those the text matched, by id.

        FTS5 sorts its best `wanted` rows only (a bounded sort); more are read when clusters,
        ties or a filter make the page reach the last row read. When the query's documents
        are most of what its text matches, FTS5 ranks the text alone and the rest is filtered
        here; otherwise it ranks only those documents, listed to it.
        """
        columns = matcher.columns
        expression, covered = ranking(tree)
        assert expression is not None  # has_text
        text_matches = matcher.seen.get(expression)
        share = len(rowids) / len(text_matches) if text_matches is not None and len(
            text_matches) else 0.0
        restricted = not covered or share < 0.5
        wanted = 2 * (offset + limit) + 50
        if not restricted:
            wanted = int(wanted / share)
        sql = f"SELECT rowid, {BM25} FROM docs_fts WHERE docs_fts MATCH ?"
        params: list[object] = [expression]
        if restricted:
            sql += " AND +rowid IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(rowids.tolist()))
        while True:
            rows = self.db.execute(f"{sql} ORDER BY 2 LIMIT ?", [*params, wanted]).fetchall()
            complete = len(rows) < wanted
            best = np.fromiter((r[0] for r in rows), np.int64, len(rows))
            score = np.fromiter((r[1] for r in rows), np.float64, len(rows))
            last = score[-1] if len(rows) else 0.0  # any row not read scores at least this
            if not restricted:
                keep = mask[best]
                best, score = best[keep], score[keep]
            order = np.lexsort((columns.rank[best], score))
            best, score = best[order], score[order]
            scored = len(best)
            if complete and not covered:  # then those matched by filters alone, by id
                rest = rowids[~np.isin(rowids, best)]
                best = np.concatenate([best, rest[np.argsort(columns.rank[rest])]])
            shown, positions = columns.collapse(best, offset, limit)
            if complete or (len(shown) == limit and score[positions[-1]] < last):
                return [(int(r), float(score[p]) if p < scored else None)
                        for r, p in zip(shown, positions, strict=True)]
            wanted *= 4

    def _hits(self, page: list[tuple[int, float | None]], tree: Node, columns: _Columns,
              per_cluster: IntArray) -> list[Hit]:
        if not page:
            return []
        bodies = {row[0]: row[1:] for row in self.db.execute(
            "SELECT d.rowid, d.id, d.source, b.url, b.title, b.text, b.published "
            "FROM docs d JOIN bodies b ON b.rowid = d.rowid "
            "WHERE d.rowid IN (SELECT value FROM json_each(?))",
            [json.dumps([rowid for rowid, _ in page])])}
        highlighter = Highlighter(tree)
        hits = []
        for rowid, score in page:
            doc_id, source, url, title, text, published = bodies[rowid]
            hits.append(Hit(
                id=doc_id, url=url, title=title, published=published, source=source,
                snippet=highlighter.snippet(text),
                score=None if score is None else -score,
                duplicates=int(per_cluster[columns.cluster[rowid]]) - 1,
            ))
        return hits

    def _facets(self, columns: _Columns, rowids: IntArray, interval: Interval,
                size: int) -> Facets:
        counts = columns.facet_counts(rowids)
        entities = {
            field.removeprefix(ENTITY_FACET): [
                facets.entity_bucket(b.value, b.count) for b in columns.top(field, counts, size)]
            for field in sorted(columns.fields) if field.startswith(ENTITY_FACET)
        }
        days = columns.day[rowids]
        ordinals, per_day = np.unique(days[days > 0], return_counts=True)
        histogram: dict[str, int] = {}
        for ordinal, count in zip(ordinals.tolist(), per_day.tolist(), strict=True):
            start = facets.bucket_start(date.fromordinal(ordinal).isoformat(), interval)
            histogram[start] = histogram.get(start, 0) + count
        return Facets(
            source=columns.top(SOURCE_FACET, counts, size),
            entities={kind: buckets for kind, buckets in entities.items() if buckets},
            crime=columns.top(CRIME_FACET, counts, size),
            interval=interval,
            published=facets.fill_histogram(histogram, interval),
        )


__all__ = ["SCHEMA_VERSION", "SqliteIndex", "analysis_fingerprint"]
