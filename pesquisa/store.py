"""The store: SQLite (WAL) system of record and work queue for documents, entities, mentions.

Document status moves fetched -> annotated -> indexed (or failed, with the reason). Every stage
selects by status and marks its progress in the same transaction as its output, so a run that
is killed resumes where it stopped, without loss and without duplicates.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from indexer.base import IndexDocument, IndexEntity
from pesquisa.errors import FixInput, NotFound, RetryLater
from pesquisa.ids import content_hash
from pesquisa.sqlite import connect, is_busy

FETCHED, ANNOTATED, INDEXED, FAILED = "fetched", "annotated", "indexed", "failed"

# Versioned migrations: append, never edit one that has shipped.
MIGRATIONS: list[str] = [
    # 1: documents, entities, mentions, crawl runs
    """
    CREATE TABLE documents (
        id            TEXT PRIMARY KEY,
        url           TEXT NOT NULL,
        canonical_url TEXT NOT NULL,
        source        TEXT NOT NULL,
        title         TEXT NOT NULL DEFAULT '',
        published     TEXT,
        fetched_at    TEXT NOT NULL,
        text          TEXT NOT NULL,
        content_hash  TEXT NOT NULL,
        language      TEXT,
        author        TEXT,
        status        TEXT NOT NULL DEFAULT 'fetched',
        error         TEXT,
        updated_at    TEXT NOT NULL
    );
    CREATE INDEX documents_status ON documents(status, fetched_at);
    CREATE INDEX documents_source ON documents(source);
    CREATE TABLE entities (
        id    TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        kind  TEXT NOT NULL,
        name  TEXT NOT NULL
    );
    CREATE TABLE mentions (
        id          INTEGER PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        entity_id   TEXT NOT NULL REFERENCES entities(id),
        start       INTEGER NOT NULL,
        end         INTEGER NOT NULL,
        text        TEXT NOT NULL,
        label       TEXT NOT NULL,
        kind        TEXT NOT NULL,
        sentence    TEXT NOT NULL,
        published   TEXT
    );
    CREATE INDEX mentions_document ON mentions(document_id);
    CREATE INDEX mentions_entity ON mentions(entity_id);
    CREATE TABLE crawl_runs (
        id          INTEGER PRIMARY KEY,
        source      TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        fetched     INTEGER NOT NULL DEFAULT 0,
        new         INTEGER NOT NULL DEFAULT 0,
        updated     INTEGER NOT NULL DEFAULT 0,
        seen        INTEGER NOT NULL DEFAULT 0,
        failures    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT
    );
    CREATE INDEX crawl_runs_source ON crawl_runs(source, started_at);
    """,
    # 2: links already followed (a feed link may redirect or name another canonical URL),
    #    and start URLs that failed, to tell an unreachable source from a partial failure
    """
    CREATE TABLE links (
        id          TEXT PRIMARY KEY,
        url         TEXT NOT NULL,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        first_seen  TEXT NOT NULL
    );
    CREATE INDEX links_document ON links(document_id);
    ALTER TABLE crawl_runs ADD COLUMN start_failures INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: issue 3 (crawlers): document metadata, WARC evidence, near-duplicate clusters,
    #    conditional GET validators, per-URL failures with their reasons
    """
    ALTER TABLE documents ADD COLUMN section TEXT;
    ALTER TABLE documents ADD COLUMN content_type TEXT NOT NULL DEFAULT 'text/html';
    ALTER TABLE documents ADD COLUMN language_flagged INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE documents ADD COLUMN extra TEXT;
    ALTER TABLE documents ADD COLUMN duplicate_of TEXT;
    ALTER TABLE documents ADD COLUMN warc_file TEXT;
    ALTER TABLE documents ADD COLUMN warc_offset INTEGER;
    ALTER TABLE documents ADD COLUMN warc_length INTEGER;
    ALTER TABLE documents ADD COLUMN warc_digest TEXT;
    CREATE INDEX documents_hash ON documents(content_hash);
    CREATE INDEX documents_duplicate ON documents(duplicate_of);
    CREATE TABLE near_dup_bands (
        band        INTEGER NOT NULL,
        bucket      INTEGER NOT NULL,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        PRIMARY KEY (band, bucket, document_id)
    ) WITHOUT ROWID;
    CREATE INDEX near_dup_bands_document ON near_dup_bands(document_id);
    CREATE TABLE near_dup_signatures (
        document_id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        signature   BLOB NOT NULL
    );
    CREATE TABLE http_validators (
        url           TEXT PRIMARY KEY,
        etag          TEXT,
        last_modified TEXT,
        checked_at    TEXT NOT NULL
    );
    CREATE TABLE crawl_failures (
        id      INTEGER PRIMARY KEY,
        run_id  INTEGER NOT NULL REFERENCES crawl_runs(id) ON DELETE CASCADE,
        source  TEXT NOT NULL,
        url     TEXT NOT NULL,
        reason  TEXT NOT NULL,
        at      TEXT NOT NULL
    );
    CREATE INDEX crawl_failures_run ON crawl_failures(run_id);
    ALTER TABLE crawl_runs ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE crawl_runs ADD COLUMN not_modified INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE crawl_runs ADD COLUMN close_reason TEXT;
    """,
    # 4: issue 4 (NLP): mention roles, where an entity comes from (the knowledge base, a
    #    pattern or the statistical model), crime types and case numbers per document
    """
    ALTER TABLE mentions ADD COLUMN role TEXT;
    ALTER TABLE entities ADD COLUMN source TEXT;
    CREATE INDEX entities_kind ON entities(kind);
    CREATE TABLE document_crime_types (
        document_id    TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        code           TEXT NOT NULL,
        article        TEXT,
        count          INTEGER NOT NULL,
        first_sentence TEXT,
        PRIMARY KEY (document_id, code)
    ) WITHOUT ROWID;
    CREATE INDEX document_crime_types_code ON document_crime_types(code);
    CREATE TABLE document_cases (
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        kind        TEXT NOT NULL,
        normalized  TEXT NOT NULL,
        text        TEXT NOT NULL,
        PRIMARY KEY (document_id, kind, normalized)
    ) WITHOUT ROWID;
    CREATE INDEX document_cases_normalized ON document_cases(normalized);
    """,
]


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """Slices small enough for one SQL statement's parameters."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class NewDocument:
    """What a crawler hands to the store."""

    url: str
    canonical_url: str
    id: str
    source: str
    title: str
    text: str
    published: str | None = None
    language: str | None = None
    author: str | None = None
    section: str | None = None
    content_type: str = "text/html"
    language_flagged: bool = False  # not in the source's language: kept, but flagged
    extra: dict[str, Any] | None = None  # kind-specific facts (a ruling's case number...)
    warc: WarcPointer | None = None  # where the response it came from is archived
    near_duplicates: bool = True  # cluster near-duplicates too, not only exact copies


@dataclass(frozen=True)
class WarcPointer:
    """One WARC record: file (relative to the data dir), byte offset and length of the
    (gzipped) record, and the SHA-256 of the HTTP payload, as `sha256:<hex>`."""

    file: str
    offset: int
    length: int
    digest: str


@dataclass(frozen=True)
class Document:
    id: str
    url: str
    canonical_url: str
    source: str
    title: str
    published: str | None
    fetched_at: str
    text: str
    content_hash: str
    language: str | None
    author: str | None
    status: str
    error: str | None
    section: str | None = None
    content_type: str = "text/html"
    language_flagged: bool = False
    extra: dict[str, Any] | None = None
    duplicate_of: str | None = None
    warc: WarcPointer | None = None

    @property
    def cluster(self) -> str:
        """The near-duplicate cluster: the primary document's id (its own when primary)."""
        return self.duplicate_of or self.id

    def export(self) -> dict[str, Any]:
        return {
            "id": self.id, "url": self.url, "canonical_url": self.canonical_url,
            "source": self.source, "title": self.title, "published": self.published,
            "fetched_at": self.fetched_at, "language": self.language,
            "language_flagged": self.language_flagged, "author": self.author,
            "section": self.section, "content_type": self.content_type,
            "duplicate_of": self.duplicate_of, "content_hash": self.content_hash,
            "warc": None if self.warc is None else {
                "file": self.warc.file, "offset": self.warc.offset, "length": self.warc.length,
                "digest": self.warc.digest,
            },
            "extra": self.extra, "status": self.status, "text": self.text,
        }

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Document:
        data = dict(row)
        file, offset, length, digest = (
            data.pop(key) for key in ("warc_file", "warc_offset", "warc_length", "warc_digest")
        )
        pointer = None if file is None else WarcPointer(file, int(offset), int(length), digest)
        extra = data.pop("extra")
        data["extra"] = json.loads(extra) if extra else None
        data["language_flagged"] = bool(data["language_flagged"])
        return cls(**data, warc=pointer)


@dataclass(frozen=True)
class Mention:
    entity_id: str
    name: str
    label: str
    kind: str
    start: int
    end: int
    text: str
    sentence: str
    role: str | None = None  # "fiscal de la Nación", "juez supremo"... for officials
    source: str | None = None  # "kb", "pattern" or "model": what found the entity


@dataclass
class RunCounts:
    fetched: int = 0
    new: int = 0
    updated: int = 0
    seen: int = 0
    failures: int = 0
    start_failures: int = 0
    duplicates: int = 0  # new documents that joined a near-duplicate cluster
    not_modified: int = 0  # feeds, sitemaps and listing pages answered 304
    last_error: str | None = None


_DOC_COLUMNS = (
    "id, url, canonical_url, source, title, published, fetched_at, text, content_hash, "
    "language, author, status, error, section, content_type, language_flagged, extra, "
    "duplicate_of, warc_file, warc_offset, warc_length, warc_digest"
)


class Store:
    """One connection to the store. Use one Store per thread; SQLite WAL handles the rest."""

    def __init__(
        self, path: Path, *, read_only: bool = False, near_duplicate_threshold: float = 0.8
    ) -> None:
        self.path = path
        self.near_duplicate_threshold = near_duplicate_threshold  # see pesquisa/dedup.py
        try:
            self.db = connect(path, read_only=read_only)
            if read_only and 0 < self.schema_version < len(MIGRATIONS):
                # a store an older release left, not yet upgraded by a writer: readers need
                # the new columns, so upgrade it first (a file we cannot write stays E601)
                self.db.close()
                Store(path, near_duplicate_threshold=near_duplicate_threshold).close()
                self.db = connect(path, read_only=True)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            if not read_only:
                self.migrate()
        except sqlite3.Error as exc:
            if is_busy(exc):
                raise RetryLater("E605", path=path, reason=str(exc)) from None
            raise FixInput("E601", path=path, reason=str(exc)) from None
        except OSError as exc:
            raise FixInput("E601", path=path, reason=str(exc)) from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply pending migrations, each in its own transaction."""
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise RetryLater("E602", found=version, known=len(MIGRATIONS))
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if self.schema_version >= number:  # another process migrated meanwhile
                    self.db.execute("ROLLBACK")
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                if number == 3 and self.db.execute("SELECT 1 FROM documents").fetchone():
                    # documents stored before clusters get their signatures and clusters
                    from pesquisa.dedup import NearDuplicates

                    NearDuplicates(self.db, self.near_duplicate_threshold).assign_all()
                self.db.execute(f"PRAGMA user_version = {number}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    # -- documents --------------------------------------------------------------------------

    def knows(self, link_id: str) -> bool:
        """Whether a link leads to a stored document: as its own id, or followed before."""
        row = self.db.execute(
            "SELECT 1 FROM documents WHERE id = ? UNION ALL SELECT 1 FROM links WHERE id = ?",
            (link_id, link_id),
        ).fetchone()
        return row is not None

    def remember_link(self, link_id: str, url: str, doc_id: str) -> None:
        """Record that the link `url` led to document `doc_id`, so it is not fetched again."""
        if link_id != doc_id:
            self.db.execute(
                "INSERT INTO links (id, url, document_id, first_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO NOTHING",
                (link_id, url, doc_id, now_iso()),
            )

    def save_document(self, doc: NewDocument) -> str:
        """Insert or update a crawled document; returns 'new', 'updated' or 'seen'.

        An unchanged page (same content hash) is left alone; a changed one goes back to the
        queue so NLP and the index see the new text. A new or changed one joins its
        near-duplicate cluster in the same transaction (pesquisa/dedup.py).
        """
        # datasketch (and scipy) load in half a second: only the commands that save pay it
        from pesquisa.dedup import NearDuplicates

        digest = content_hash(doc.title + "\n" + doc.text)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            outcome = self._save_document(doc, digest)
            if outcome != "seen":
                NearDuplicates(self.db, self.near_duplicate_threshold).assign(
                    doc.id, near=doc.near_duplicates
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return outcome

    def _save_document(self, doc: NewDocument, digest: str) -> str:
        stamp = now_iso()
        row = self.db.execute(
            "SELECT content_hash FROM documents WHERE id = ?", (doc.id,)
        ).fetchone()
        if row is not None and row["content_hash"] == digest:
            return "seen"
        warc = doc.warc
        values = (
            doc.id, doc.url, doc.canonical_url, doc.source, doc.title, doc.published, stamp,
            doc.text, digest, doc.language, doc.author, FETCHED, stamp, doc.section,
            doc.content_type, int(doc.language_flagged),
            json.dumps(doc.extra, ensure_ascii=False) if doc.extra else None,
            warc.file if warc else None, warc.offset if warc else None,
            warc.length if warc else None, warc.digest if warc else None,
        )
        self.db.execute(
            """
            INSERT INTO documents (id, url, canonical_url, source, title, published, fetched_at,
                text, content_hash, language, author, status, updated_at, section, content_type,
                language_flagged, extra, warc_file, warc_offset, warc_length, warc_digest)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET
                url = excluded.url, title = excluded.title, published = excluded.published,
                fetched_at = excluded.fetched_at, text = excluded.text,
                content_hash = excluded.content_hash, language = excluded.language,
                author = excluded.author, status = 'fetched', error = NULL,
                updated_at = excluded.updated_at, section = excluded.section,
                content_type = excluded.content_type,
                language_flagged = excluded.language_flagged, extra = excluded.extra,
                warc_file = excluded.warc_file, warc_offset = excluded.warc_offset,
                warc_length = excluded.warc_length, warc_digest = excluded.warc_digest
            """,
            values,
        )
        return "new" if row is None else "updated"

    def get(self, doc_id: str) -> Document:
        row = self.db.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            raise NotFound("E603", id=doc_id)
        return Document.from_row(row)

    def pending(self, status: str, limit: int) -> list[Document]:
        rows = self.db.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents WHERE status = ? "
            "ORDER BY fetched_at, id LIMIT ?",
            (status, limit),
        ).fetchall()
        return [Document.from_row(row) for row in rows]

    def iter_documents(self, batch: int = 500) -> Iterator[Document]:
        """Every document in id order, read in batches so memory stays flat."""
        last = ""
        while True:
            rows = self.db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield Document.from_row(row)
            last = rows[-1]["id"]

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM documents GROUP BY status")
        return {status: count for status, count in rows}

    def mark(self, doc_ids: Sequence[str], status: str, error: str | None = None) -> None:
        self.db.executemany(
            "UPDATE documents SET status = ?, error = ?, updated_at = ? WHERE id = ?",
            [(status, error, now_iso(), doc_id) for doc_id in doc_ids],
        )

    def mark_indexed(self, docs: Sequence[Document]) -> None:
        """Mark documents indexed, unless a re-crawl changed them meanwhile, or their cluster
        (they stay queued)."""
        self.db.executemany(
            "UPDATE documents SET status = ?, updated_at = ? "
            "WHERE id = ? AND content_hash = ? AND status = ? AND duplicate_of IS ?",
            [(INDEXED, now_iso(), doc.id, doc.content_hash, ANNOTATED, doc.duplicate_of)
             for doc in docs],
        )

    def in_cluster(self, doc_id: str) -> bool:
        """Whether a document has near-duplicates: it points to a primary, or is one."""
        row = self.db.execute(
            "SELECT 1 FROM documents WHERE id = ? AND duplicate_of IS NOT NULL "
            "UNION ALL SELECT 1 FROM documents WHERE duplicate_of = ? LIMIT 1",
            (doc_id, doc_id),
        ).fetchone()
        return row is not None

    # -- annotations ------------------------------------------------------------------------

    def save_annotations(
        self,
        doc: Document,
        mentions: Iterable[Mention],
        crime_types: Iterable[Mapping[str, Any]] = (),
        case_numbers: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Replace a document's mentions, crime types and case numbers and mark it annotated,
        atomically.

        `crime_types` are occurrences (`code`, `article`, `start`, optional `snippet`: the
        sentence), counted here per code; `case_numbers` are `kind`, `normalized`, `text`,
        kept once per normalized number.
        """
        crimes: dict[str, dict[str, Any]] = {}
        for found in sorted(crime_types, key=lambda c: int(c.get("start") or 0)):
            row = crimes.setdefault(found["code"], {
                "article": found.get("article"), "count": 0, "snippet": found.get("snippet"),
            })
            row["count"] += 1
        cases: dict[tuple[str, str], str] = {}
        for case in case_numbers:
            cases.setdefault((case["kind"], case["normalized"]), case["text"])
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("mentions", "document_crime_types", "document_cases"):
                self.db.execute(f"DELETE FROM {table} WHERE document_id = ?", (doc.id,))
            for mention in mentions:
                # the knowledge base is the authority on a name: an edit there renames the
                # entity at the next annotation; other names stay as first seen
                self.db.execute(
                    "INSERT INTO entities (id, label, kind, name, source) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET name = excluded.name, label = excluded.label, "
                    "kind = excluded.kind, source = excluded.source WHERE excluded.source = 'kb'",
                    (mention.entity_id, mention.label, mention.kind, mention.name,
                     mention.source),
                )
                self.db.execute(
                    "INSERT INTO mentions (document_id, entity_id, start, end, text, label, kind,"
                    " sentence, published, role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.id, mention.entity_id, mention.start, mention.end, mention.text,
                     mention.label, mention.kind, mention.sentence, doc.published, mention.role),
                )
            self.db.executemany(
                "INSERT INTO document_crime_types (document_id, code, article, count, "
                "first_sentence) VALUES (?, ?, ?, ?, ?)",
                [(doc.id, code, row["article"], row["count"], row["snippet"])
                 for code, row in crimes.items()],
            )
            self.db.executemany(
                "INSERT INTO document_cases (document_id, kind, normalized, text) "
                "VALUES (?, ?, ?, ?)",
                [(doc.id, kind, normalized, text) for (kind, normalized), text in cases.items()],
            )
            self.db.execute(
                "UPDATE documents SET status = ?, error = NULL, updated_at = ? "
                "WHERE id = ? AND content_hash = ?",
                (ANNOTATED, now_iso(), doc.id, doc.content_hash),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def requeue_all(self) -> int:
        """Send every document back to annotation (after a knowledge-base or pattern change);
        returns how many. Their mentions and index entries stay until each is redone."""
        self.db.execute(
            "UPDATE documents SET status = ?, error = NULL, updated_at = ? WHERE status != ?",
            (FETCHED, now_iso(), FETCHED),
        )
        return self.counts().get(FETCHED, 0)

    def entities_with_counts(
        self, kind: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Entities with their mention and document counts, most mentioned first."""
        rows = self.db.execute(
            f"""
            SELECT e.id, e.name, e.label, e.kind, COUNT(*) AS mentions,
                   COUNT(DISTINCT m.document_id) AS documents
            FROM mentions m JOIN entities e ON e.id = m.entity_id
            {"WHERE e.kind = ?" if kind else ""}
            GROUP BY e.id ORDER BY mentions DESC, documents DESC, e.name, e.id
            LIMIT ?
            """,
            ([kind] if kind else []) + [-1 if limit is None else limit],
        ).fetchall()
        return [dict(row) for row in rows]

    def documents_for_case(self, normalized: str) -> list[dict[str, Any]]:
        """Documents citing a case number (expediente or carpeta fiscal), newest first."""
        rows = self.db.execute(
            """
            SELECT d.id, d.url, d.title, d.published, d.source, c.kind, c.text
            FROM document_cases c JOIN documents d ON d.id = c.document_id
            WHERE c.normalized = ? ORDER BY d.published DESC, d.id
            """,
            (normalized,),
        ).fetchall()
        return [dict(row) for row in rows]

    def document_crime_types(self, doc_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT code, article, count, first_sentence FROM document_crime_types "
            "WHERE document_id = ? ORDER BY count DESC, code",
            (doc_id,),
        ).fetchall()
        return [dict(row) for row in rows]

    def document_entities(self, doc_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            """
            SELECT e.id, e.name, e.label, e.kind, COUNT(*) AS mentions
            FROM mentions m JOIN entities e ON e.id = m.entity_id
            WHERE m.document_id = ? GROUP BY e.id ORDER BY mentions DESC, e.name
            """,
            (doc_id,),
        ).fetchall()
        return [dict(row) for row in rows]

    def entities_for(self, doc_ids: Sequence[str]) -> dict[str, list[IndexEntity]]:
        """Distinct entities per document, for the index: id, canonical name, kind, and the
        names each appears under in that document (what `entity:"..."` also finds)."""
        found: dict[str, dict[str, tuple[str, str, set[str]]]] = {d: {} for d in doc_ids}
        for chunk in _chunks(doc_ids):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"""
                SELECT DISTINCT m.document_id, e.id, e.name, e.kind, m.text
                FROM mentions m JOIN entities e ON e.id = m.entity_id
                WHERE m.document_id IN ({marks})
                """,
                list(chunk),
            ).fetchall()
            for doc_id, entity_id, name, kind, text in rows:
                entry = found[doc_id].setdefault(entity_id, (name, kind, set()))
                entry[2].add(" ".join(text.split()))
        return {
            doc_id: [IndexEntity(entity_id, name, kind, tuple(sorted(aliases - {""})))
                     for entity_id, (name, kind, aliases) in sorted(entities.items())]
            for doc_id, entities in found.items()
        }

    def crime_types_for(self, doc_ids: Sequence[str]) -> dict[str, list[str]]:
        """Crime-type codes per document (config/kb/crime_types.yml), for the index."""
        found: dict[str, list[str]] = {doc_id: [] for doc_id in doc_ids}
        for chunk in _chunks(doc_ids):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT document_id, code FROM document_crime_types "
                f"WHERE document_id IN ({marks}) ORDER BY code",
                list(chunk),
            ).fetchall()
            for doc_id, code in rows:
                found[doc_id].append(code)
        return found

    def index_documents(self, docs: Sequence[Document]) -> list[IndexDocument]:
        """Documents as the index takes them: text and metadata, entities, crime types and
        near-duplicate cluster. The worker and `pesquisa reindex` both build them here."""
        ids = [doc.id for doc in docs]
        entities, crimes = self.entities_for(ids), self.crime_types_for(ids)
        return [
            IndexDocument(
                id=doc.id, url=doc.url, source=doc.source, title=doc.title, text=doc.text,
                published=doc.published, language=doc.language, entities=entities[doc.id],
                crime_types=crimes[doc.id], cluster=doc.cluster,
            )
            for doc in docs
        ]

    def count_indexable(self) -> int:
        """How many documents `iter_index_batches` gives (annotated or indexed)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM documents WHERE status IN (?, ?)", (ANNOTATED, INDEXED)
        ).fetchone()
        return int(row[0])

    def iter_index_batches(self, size: int = 500) -> Iterator[list[IndexDocument]]:
        """Every document the index should hold, in id order, `size` at a time, for
        `pesquisa reindex`: the indexed ones and the annotated ones the worker has not
        indexed yet (each is complete: text, entities, crime types). Documents waiting for
        NLP are left to the worker. Each batch is its own short read, so crawls keep
        writing meanwhile."""
        last = ""
        while True:
            rows = self.db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE id > ? AND status IN (?, ?) "
                "ORDER BY id LIMIT ?",
                (last, ANNOTATED, INDEXED, size),
            ).fetchall()
            if not rows:
                return
            yield self.index_documents([Document.from_row(row) for row in rows])
            last = rows[-1]["id"]

    def indexed_ids(self) -> Iterator[str]:
        """The ids of the documents marked indexed, in id order, read in batches."""
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT id FROM documents WHERE status = ? AND id > ? ORDER BY id LIMIT 5000",
                (INDEXED, last),
            ).fetchall()
            if not rows:
                return
            yield from (row[0] for row in rows)
            last = rows[-1][0]

    def requeue_for_indexing(self, doc_ids: Iterable[str] | None = None) -> int:
        """Send indexed documents (all, or those of `doc_ids`) back to the index queue, not
        to NLP: their annotations stand (after the index was created empty, or lost some).
        Returns how many. One short statement per 500 ids."""
        stamp = now_iso()
        if doc_ids is None:
            cursor = self.db.execute(
                "UPDATE documents SET status = ?, updated_at = ? WHERE status = ?",
                (ANNOTATED, stamp, INDEXED),
            )
            return cursor.rowcount
        moved = 0
        for chunk in _chunks(list(doc_ids)):
            marks = ",".join("?" * len(chunk))
            cursor = self.db.execute(
                f"UPDATE documents SET status = ?, updated_at = ? "
                f"WHERE status = ? AND id IN ({marks})",
                [ANNOTATED, stamp, INDEXED, *chunk],
            )
            moved += cursor.rowcount
        return moved

    # -- crawl runs -------------------------------------------------------------------------

    def start_run(self, source: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO crawl_runs (source, started_at) VALUES (?, ?)", (source, now_iso())
        )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, counts: RunCounts, close_reason: str = "finished") -> None:
        """Record a run's counts and why it closed: "finished" (read to the end), or
        "shutdown", "closespider_itemcount"... (stopped early: pages past it may be unread)."""
        self.db.execute(
            """UPDATE crawl_runs SET finished_at = ?, fetched = ?, new = ?, updated = ?, seen = ?,
               failures = ?, start_failures = ?, duplicates = ?, not_modified = ?,
               last_error = ?, close_reason = ? WHERE id = ?""",
            (now_iso(), counts.fetched, counts.new, counts.updated, counts.seen, counts.failures,
             counts.start_failures, counts.duplicates, counts.not_modified, counts.last_error,
             close_reason, run_id),
        )

    def record_failure(self, run_id: int, source: str, url: str, reason: str) -> None:
        """One URL of a run that could not be stored, with the reason (HTTP 500, soft block...)."""
        self.db.execute(
            "INSERT INTO crawl_failures (run_id, source, url, reason, at) VALUES (?, ?, ?, ?, ?)",
            (run_id, source, url, reason, now_iso()),
        )

    def failures(self, run_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT url, reason, at FROM crawl_failures WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [dict(row) for row in rows]

    # -- conditional GET ----------------------------------------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified last seen for a URL (feeds, sitemaps, listing pages)."""
        row = self.db.execute(
            "SELECT etag, last_modified FROM http_validators WHERE url = ?", (url,)
        ).fetchone()
        return (row["etag"], row["last_modified"]) if row else (None, None)

    def save_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        self.db.execute(
            "INSERT INTO http_validators (url, etag, last_modified, checked_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
            "last_modified = excluded.last_modified, checked_at = excluded.checked_at",
            (url, etag, last_modified, now_iso()),
        )

    def runs(self, run_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        marks = ",".join("?" * len(run_ids))
        rows = self.db.execute(f"SELECT * FROM crawl_runs WHERE id IN ({marks})", list(run_ids))
        return {row["id"]: dict(row) for row in rows}

    def last_run_since(self, source: str, since: str) -> dict[str, Any] | None:
        """The newest finished run of a source that started at or after `since`."""
        row = self.db.execute(
            "SELECT * FROM crawl_runs WHERE source = ? AND started_at >= ? "
            "AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
            (source, since),
        ).fetchone()
        return dict(row) if row else None

    def iter_runs(self, source: str, page: int = 50) -> Iterator[dict[str, Any]]:
        """A source's runs, newest first, read a page at a time (callers usually stop early)."""
        query = ("SELECT * FROM crawl_runs WHERE source = ? {} "
                 "ORDER BY started_at DESC, id DESC LIMIT ?")
        rows = self.db.execute(query.format(""), (source, page)).fetchall()
        while rows:
            yield from (dict(row) for row in rows)
            last = rows[-1]
            rows = self.db.execute(
                query.format("AND (started_at, id) < (?, ?)"),
                (source, last["started_at"], last["id"], page),
            ).fetchall()
