"""`pesquisa run`: scheduled crawls, the worker and the web app in one process; Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pesquisa.sources import write_source
from tests.conftest import REPO, Workspace, interrupt

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_run_monitors_serves_and_stops_cleanly(workspace: Workspace) -> None:
    port = free_port()
    env = workspace.env | {"PESQUISA_WORKER__INTERVAL": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "pesquisa", "run", "--port", str(port)], env=env, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    found: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            try:
                # "Pataz" is only in the sitemap source, which the scheduler crawls last
                found = get_json(f"{base}/api/search?q=pataz")
                if found.get("total") == 1:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert found.get("total") == 1, "the scheduled crawls never reached the index"
        page = urllib.request.urlopen(f"{base}/?q=corrupci%C3%B3n", timeout=5).read().decode()
        assert "<mark>" in page
    finally:
        stderr = interrupt(child)
    assert child.returncode in (0, 130), stderr
    assert "Traceback" not in stderr
    assert "stopped" in stderr
    with socket.socket() as probe:  # the port is free again (TIME_WAIT aside)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


class _Slow(SimpleHTTPRequestHandler):
    """Serves a directory, taking a second over each article page."""

    def do_GET(self) -> None:
        if self.path.startswith("/nota"):
            time.sleep(1.0)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        return None


ARTICLE = ("<html lang='es'><head><title>Nota {n} sobre extorsión en Trujillo</title></head>"
           "<body><article><h1>Nota {n} sobre extorsión en Trujillo</h1><p>{body}</p>"
           "</article></body></html>")


@pytest.fixture
def slow_source(workspace: Workspace, tmp_path: Path) -> Iterator[str]:
    """A feed of 12 articles that take a second each; the workspace's only source, `lento`."""
    root = tmp_path / "slow"
    root.mkdir()
    body = ("La Policía Nacional detuvo a tres presuntos integrantes de una banda dedicada a "
            "la extorsión de transportistas en Trujillo, informó la Fiscalía provincial. ") * 3
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Slow, directory=str(root)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    links = []
    for n in range(12):
        (root / f"nota{n}").write_text(ARTICLE.format(n=n, body=body), encoding="utf-8")
        links.append(f"<item><title>{n}</title><link>{base}/nota{n}</link></item>")
    (root / "feed.xml").write_text(
        f"<rss version='2.0'><channel><title>t</title>{''.join(links)}</channel></rss>")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for path in workspace.sources_dir.iterdir():
        path.unlink()
    write_source({"id": "lento", "name": "Lento", "kind": "feed", "urls": [f"{base}/feed.xml"],
                  "schedule": "0 3 * * *"}, workspace.sources_dir)
    workspace.env = workspace.env | {"PESQUISA_CRAWL__CONCURRENT_PER_HOST": "1"}
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def count_documents(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            count: int = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            return count
    except sqlite3.OperationalError:  # not created, or its tables not yet
        return 0


def wait_for_documents(db: Path, child: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        stored = count_documents(db)
        if stored:
            return stored
        time.sleep(0.2)
    return 0


def test_ctrl_c_during_a_crawl_stops_it_cleanly(workspace: Workspace, slow_source: str) -> None:
    db = workspace.data_dir / "pesquisa.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "pesquisa", "run", "--port", str(free_port())],
        env=workspace.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal would give it
    )
    try:
        assert 0 < wait_for_documents(db, child) < 12, "the crawl should be under way"
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C: the whole group gets it
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert "Traceback" not in stderr
    with sqlite3.connect(db) as conn:
        finished = conn.execute("SELECT finished_at FROM crawl_runs").fetchall()
    assert finished and all(row[0] for row in finished)  # the crawl closed its run record
    log = (workspace.data_dir / "logs" / "pesquisa.log").read_text()
    assert "forcing unclean shutdown" not in log


def test_a_crawl_killed_midway_resumes_without_duplicates(
    workspace: Workspace, slow_source: str
) -> None:
    db = workspace.data_dir / "pesquisa.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "pesquisa", "crawl", "lento"], env=workspace.env, cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert 0 < wait_for_documents(db, child) < 12, "the crawl should be under way"
    finally:
        child.kill()  # no chance to clean up
        child.wait()
    before = count_documents(db)
    result = workspace.cli("crawl", "lento", check=True)
    new = int(result.stdout.splitlines()[1].split()[2])
    assert new == 12 - before  # only what the killed crawl had not stored
    with sqlite3.connect(db) as conn:
        urls = [row[0] for row in conn.execute("SELECT url FROM documents")]
    assert sorted(urls) == sorted(f"{slow_source}/nota{n}" for n in range(12))
