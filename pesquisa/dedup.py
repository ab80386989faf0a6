"""Near-duplicate clusters: MinHash signatures and LSH bands kept in the store, one primary each.

Wire copy (Andina's, EFE's) is reprinted by several outlets under their own URLs, with their
own intro and boilerplate. Each document gets a MinHash signature of the word 5-grams of its
accent-folded text (datasketch); the signature is cut into bands, and documents that share a
band bucket are candidates, confirmed by the Jaccard similarity estimated from the two
signatures. Documents with the same content hash are one cluster whatever their length.

A cluster is flat: its primary is the earliest published member (ties: first stored) and
every other member carries `documents.duplicate_of = <primary id>`. A member whose
`duplicate_of` changes after it was indexed goes back to 'annotated' so the worker indexes it
again with its new cluster.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

import numpy as np
from datasketch import LeanMinHash, MinHash

from pesquisa.ids import fold
from pesquisa.lima import LIMA

NUM_PERM = 128  # signature length: 1 KiB per document, Jaccard estimated to about ±0.035
SEED = 1  # fixed, so signatures from any process compare
SHINGLE_WORDS = 5
MIN_CHARS = 300  # shorter texts (briefs, captions) share too much boilerplate to compare
RECALL_AT_THRESHOLD = 0.99  # chance that a pair exactly at the threshold shares a bucket
LAYOUT = 1000  # a stored band is numbered rows * LAYOUT + index: layouts never mix
DEFAULT_THRESHOLD = 0.8  # CrawlSettings.near_duplicate_threshold's default

_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[bytes]:
    """The word 5-grams of the accent-folded text (the whole text when it is shorter)."""
    words = _WORD.findall(fold(text))
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {
        " ".join(words[i:i + SHINGLE_WORDS]).encode("utf-8")
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def without_headline(text: str, title: str) -> str:
    """The text minus lines that only repeat the headline: outlets rewrite headlines, and
    extractors often keep the page's h1 at the top of the text."""
    headline = fold(title).strip()
    if not headline:
        return text
    return "\n".join(line for line in text.splitlines() if fold(line).strip() != headline)


def signature(text: str) -> LeanMinHash | None:
    """The MinHash signature of a text, or None when it is too short to compare."""
    if len(text.strip()) < MIN_CHARS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch(shingles(text))
    return LeanMinHash(minhash)


def from_blob(blob: bytes) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=np.frombuffer(blob, dtype=np.uint64))


def similarity(a: LeanMinHash, b: LeanMinHash) -> float:
    """Estimated Jaccard similarity of two signatures (0 when their lengths differ)."""
    return float(a.jaccard(b)) if len(a) == len(b) else 0.0


@lru_cache(maxsize=8)
def bands_and_rows(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """The most rows per band (fewest chance candidates) that still put a pair whose
    similarity is `threshold` into a shared bucket with probability RECALL_AT_THRESHOLD.

    datasketch's MinHashLSH weighs misses and chance candidates evenly, which catches a pair
    at the threshold only about half the time; here candidates are cheap to verify from the
    stored signatures, so recall comes first. For 0.8 and 128 permutations: 21 bands of 6.
    """
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= RECALL_AT_THRESHOLD:
            return bands, rows
    return num_perm, 1


def band_buckets(sig: LeanMinHash, threshold: float) -> list[tuple[int, int]]:
    """(band, bucket) pairs of a signature: a 64-bit hash of each band's rows. The band
    number carries the rows per band, which depend on the threshold."""
    bands, rows = bands_and_rows(threshold, len(sig))
    values = np.asarray(sig.hashvalues, dtype=np.uint64)
    found = []
    for band in range(bands):
        digest = hashlib.blake2b(values[band * rows:(band + 1) * rows].tobytes(), digest_size=8)
        found.append((rows * LAYOUT + band, int.from_bytes(digest.digest(), "big", signed=True)))
    return found


def _order(published: str | None, stored: int, doc_id: str) -> tuple[int, float, int, str]:
    """Sort key of a cluster's members: earliest published first, undated last; then the
    first stored (its rowid: a re-crawl that corrects a page keeps it, unlike fetched_at)."""
    if published:
        try:
            moment = datetime.fromisoformat(published)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=LIMA)
            return (0, moment.timestamp(), stored, doc_id)
    return (1, 0.0, stored, doc_id)


class NearDuplicates:
    """Clusters documents in the store. Runs inside the caller's write transaction."""

    def __init__(self, db: sqlite3.Connection, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.db = db
        self.threshold = threshold

    def assign(self, doc_id: str, *, near: bool = True) -> list[str]:
        """(Re)cluster a document just saved (new or changed text); idempotent. With
        `near=False` (legal norms, rulings) only exact copies join it: it gets no signature,
        so it neither matches nor is matched by merely similar documents.

        Returns the ids of other documents whose `duplicate_of` changed.
        """
        row = self.db.execute(
            "SELECT text, title, content_hash, duplicate_of FROM documents WHERE id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            return []
        text, digest, duplicate_of = without_headline(row[0], row[1]), row[2], row[3]
        old_members = self._members(duplicate_of or doc_id)
        self._match_layout()

        self.db.execute("DELETE FROM near_dup_bands WHERE document_id = ?", (doc_id,))
        self.db.execute("DELETE FROM near_dup_signatures WHERE document_id = ?", (doc_id,))
        matches = {
            r[0] for r in self.db.execute(
                "SELECT id FROM documents WHERE content_hash = ? AND id != ?", (digest, doc_id)
            )
        }
        sig = signature(text) if near else None
        if sig is not None:
            blob = np.asarray(sig.hashvalues, dtype=np.uint64).tobytes()
            self.db.execute(
                "INSERT INTO near_dup_signatures (document_id, signature) VALUES (?, ?)",
                (doc_id, blob),
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO near_dup_bands (band, bucket, document_id) "
                "VALUES (?, ?, ?)",
                [(band, bucket, doc_id) for band, bucket in band_buckets(sig, self.threshold)],
            )
            matches |= self._similar(doc_id, sig)

        group = {doc_id}
        for match in matches:
            group |= self._members(self._cluster_of(match))
        changed = self._settle(group) + self._settle(old_members - group)
        return [other for other in changed if other != doc_id]

    def assign_all(self) -> None:
        """Cluster every stored document: a store from before clusters (schema 2) has
        documents without signatures, which a new copy could never find."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM documents ORDER BY fetched_at, id")]
        for doc_id in ids:
            self.assign(doc_id)

    def _match_layout(self) -> None:
        """Bands cut for another threshold (the setting changed) never meet this one's: cut
        the stored signatures again, which do not depend on the threshold."""
        rows = bands_and_rows(self.threshold)[1]
        other = self.db.execute(
            "SELECT 1 FROM near_dup_bands WHERE band < ? OR band >= ? LIMIT 1",
            (rows * LAYOUT, (rows + 1) * LAYOUT),
        ).fetchone()
        if other is None:
            return
        self.db.execute("DELETE FROM near_dup_bands")
        signed = self.db.execute("SELECT document_id, signature FROM near_dup_signatures")
        for doc_id, blob in signed.fetchall():
            self.db.executemany(
                "INSERT INTO near_dup_bands (band, bucket, document_id) VALUES (?, ?, ?)",
                [(band, bucket, doc_id)
                 for band, bucket in band_buckets(from_blob(blob), self.threshold)],
            )

    def _similar(self, doc_id: str, sig: LeanMinHash) -> set[str]:
        """Documents that share a bucket with this one and pass the estimated Jaccard."""
        rows = self.db.execute(
            """
            SELECT s.document_id, s.signature FROM near_dup_signatures s
            WHERE s.document_id IN (
                SELECT DISTINCT other.document_id
                FROM near_dup_bands mine JOIN near_dup_bands other
                    ON other.band = mine.band AND other.bucket = mine.bucket
                WHERE mine.document_id = ? AND other.document_id != ?)
            """,
            (doc_id, doc_id),
        )
        return {
            other for other, blob in rows
            if similarity(sig, from_blob(blob)) >= self.threshold
        }

    def _cluster_of(self, doc_id: str) -> str:
        row = self.db.execute(
            "SELECT duplicate_of FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        return (row[0] if row else None) or doc_id

    def _members(self, primary: str) -> set[str]:
        rows = self.db.execute(
            "SELECT id FROM documents WHERE id = ? OR duplicate_of = ?", (primary, primary)
        )
        return {r[0] for r in rows}

    def _settle(self, ids: Iterable[str]) -> list[str]:
        """Point every member at the earliest one; return the ids that changed."""
        ids = list(ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, published, rowid, duplicate_of FROM documents WHERE id IN ({marks})",
            ids,
        ).fetchall()
        primary = min(rows, key=lambda r: _order(r[1], r[2], r[0]))[0] if len(rows) > 1 else None
        changed = []
        for doc_id, _, _, duplicate_of in rows:
            target = None if doc_id == primary else primary
            if duplicate_of != target:
                changed.append(doc_id)
                # an indexed document goes back to the worker, to be indexed with its cluster
                self.db.execute(
                    "UPDATE documents SET duplicate_of = ?, status = CASE status "
                    "WHEN 'indexed' THEN 'annotated' ELSE status END, "
                    "updated_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') WHERE id = ?",
                    (target, doc_id),
                )
        return changed
