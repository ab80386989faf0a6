"""The store: migrations, idempotent writes, and the status queue."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pesquisa.errors import NotFound, RetryLater
from pesquisa.ids import canonical_url, document_id
from pesquisa.store import (
    ANNOTATED,
    FETCHED,
    INDEXED,
    MIGRATIONS,
    Mention,
    NewDocument,
    RunCounts,
    Store,
    now_iso,
)


def new_doc(url: str, text: str = "El fiscal investiga un caso de corrupción.") -> NewDocument:
    return NewDocument(url=url, canonical_url=canonical_url(url), id=document_id(url),
                       source="demo", title="Título", text=text,
                       published="2026-09-28T11:57:00-05:00")


def mention(name: str, start: int = 0) -> Mention:
    return Mention(entity_id=f"per:{name.lower()}", name=name, label="PER", kind="person",
                   start=start, end=start + len(name), text=name, sentence="...")


def test_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        mode = store.db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
    with Store(path) as store:  # reopening migrates nothing and loses nothing
        assert store.schema_version == len(MIGRATIONS)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(RetryLater, match="E602"):
        Store(path)


def test_save_is_idempotent_and_notices_changes(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        doc = new_doc("https://rpp.pe/a")
        assert store.save_document(doc) == "new"
        assert store.save_document(doc) == "seen"
        store.mark([doc.id], INDEXED)
        changed = new_doc("https://rpp.pe/a", text="Texto corregido por el medio.")
        assert store.save_document(changed) == "updated"
        saved = store.get(doc.id)
        assert saved.text == "Texto corregido por el medio."
        assert saved.status == FETCHED  # back in the queue
        assert store.counts() == {FETCHED: 1}
        with pytest.raises(NotFound):
            store.get("nope")


def test_annotations_replace_and_guard_against_changes(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.save_document(new_doc("https://rpp.pe/a"))
        doc = store.pending(FETCHED, 10)[0]
        store.save_annotations(doc, [mention("Ana"), mention("Luis", 10)])
        store.save_annotations(doc, [mention("Ana")])  # a re-run replaces, never appends
        assert [e["name"] for e in store.document_entities(doc.id)] == ["Ana"]
        assert store.get(doc.id).status == ANNOTATED
        annotated = store.pending(ANNOTATED, 10)
        # the page changes before indexing: it must not be marked indexed with old text
        store.save_document(new_doc("https://rpp.pe/a", text="Nuevo texto del artículo."))
        store.mark_indexed(annotated)
        assert store.get(doc.id).status == FETCHED


def test_iter_documents_and_runs(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        for n in range(7):
            store.save_document(new_doc(f"https://rpp.pe/{n}"))
        assert len({d.id for d in store.iter_documents(batch=3)}) == 7
        since = now_iso()
        assert store.last_run_since("rpp", since) is None
        run = store.start_run("rpp")
        assert store.last_run_since("rpp", since) is None  # not finished yet
        store.finish_run(run, RunCounts(fetched=8, new=7, failures=1, last_error="timeout"))
        last = store.last_run_since("rpp", since)
        assert last is not None and last == store.runs([run])[run]
        assert (last["source"], last["new"], last["last_error"]) == ("rpp", 7, "timeout")


def test_read_only_store_in_a_path_with_uri_characters(tmp_path: Path) -> None:
    folder = tmp_path / "datos #1 ?50%"
    with Store(folder / "s.db") as store:
        store.save_document(new_doc("https://rpp.pe/a"))
    with Store(folder / "s.db", read_only=True) as store:
        assert store.counts() == {FETCHED: 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datos #1 ?50%"]  # nothing stray
