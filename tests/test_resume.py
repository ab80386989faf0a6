"""Interrupted processing resumes without loss or duplicates."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pesquisa.ids import canonical_url, document_id
from pesquisa.store import NewDocument, Store
from tests.conftest import REPO, Site, Workspace

pytestmark = pytest.mark.slow
TOTAL = 240


def texts(site: Site) -> Iterator[str]:
    paragraphs = [p for a in site.articles if a["language"] == "es" for p in a["paragraphs"]]
    for n in range(TOTAL):
        chosen = [paragraphs[(n * 7 + k * 13) % len(paragraphs)] for k in range(4)]
        yield f"Referencia clave{n:04d}.\n" + "\n".join(chosen)


def fill(store_path: Path, site: Site) -> None:
    with Store(store_path) as store:
        for n, text in enumerate(texts(site)):
            url = f"https://ejemplo.pe/noticia/{n}"
            store.save_document(NewDocument(
                url=url, canonical_url=canonical_url(url), id=document_id(url), source="ejemplo",
                title=f"Nota {n}", text=text, published="2026-10-01T10:00:00-05:00"))


def statuses(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, COUNT(*) FROM documents GROUP BY status"))


def test_process_killed_midway_then_resumed(workspace: Workspace, site: Site) -> None:
    db = workspace.data_dir / "pesquisa.db"
    fill(db, site)
    env = workspace.env | {"PESQUISA_WORKER__BATCH_SIZE": "8"}
    child = subprocess.Popen([sys.executable, "-m", "pesquisa", "process"], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if statuses(db).get("indexed", 0) >= 24:
                break
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    midway = statuses(db)
    assert 24 <= midway.get("indexed", 0) < TOTAL, midway  # really killed in the middle

    workspace.env = env
    result = workspace.cli("process", check=True)
    assert "done:" in result.stdout
    assert statuses(db) == {"indexed": TOTAL}

    index = sqlite3.connect(workspace.data_dir / "index.sqlite", isolation_level=None)
    assert index.execute("SELECT COUNT(*) FROM docs").fetchone() == (TOTAL,)
    # one FTS entry per document (docsize has a row per indexed rowid), and a sound index
    assert index.execute("SELECT COUNT(*) FROM docs_fts_docsize").fetchone() == (TOTAL,)
    index.execute("INSERT INTO docs_fts(docs_fts) VALUES ('integrity-check')")
    index.close()
    for n in (0, 57, TOTAL - 1):  # each document is found exactly once
        found = workspace.cli("search", f"clave{n:04d}", "--json", check=True).stdout
        assert '"total": 1' in found

    store = sqlite3.connect(db)
    duplicated = store.execute(
        "SELECT COUNT(*) FROM (SELECT document_id, start, end FROM mentions "
        "GROUP BY document_id, start, end HAVING COUNT(*) > 1)").fetchone()[0]
    assert duplicated == 0
    (docs_with_mentions,) = store.execute(
        "SELECT COUNT(DISTINCT document_id) FROM mentions").fetchone()
    assert docs_with_mentions == TOTAL
