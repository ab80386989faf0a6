"""The whole pipeline through the CLI, against the demo site on a real local HTTP server."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pesquisa.demo.site import article_url
from pesquisa.ids import canonical_url, document_id, fold
from tests.conftest import REPO, Site, Workspace, interrupt, make_workspace
from tests.es_node import Outage

pytestmark = pytest.mark.slow


def search(ws: Workspace, query: str, limit: int = 100) -> dict[str, Any]:
    result = ws.cli("search", query, "--json", "--limit", str(limit), check=True)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def only_article(site: Site, word: str) -> dict[str, Any]:
    (article,) = [a for a in site.articles if word in " ".join([a["title"], *a["paragraphs"]])]
    return article


@pytest.fixture(scope="module")
def crawled(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One workspace crawled and processed once, shared by the read-only tests below."""
    ws = make_workspace(tmp_path_factory.mktemp("e2e"), site)
    ws.cli("crawl", check=True)
    ws.cli("process", check=True)
    return ws


def test_every_article_is_crawled_once_and_indexed(site: Site, crawled: Workspace) -> None:
    exported = [json.loads(line) for line in crawled.cli("export", "documents", check=True)
                .stdout.splitlines()]
    urls = {canonical_url(article_url(a, site.base_url)) for a in site.articles}
    assert {d["canonical_url"] for d in exported} >= urls
    assert len({d["id"] for d in exported}) == len(exported)
    for doc in exported:
        assert doc["status"] == "indexed"
        assert doc["id"] == document_id(doc["canonical_url"])
        assert doc["published"] is None or doc["published"][10] == "T"
        assert {"id", "url", "source", "title", "published", "text"} <= set(doc)
    assert not any("/privado/" in d["url"] for d in exported)  # robots.txt obeyed
    # search shows a near-duplicate cluster once: the demo's syndicated copy is one
    clusters = {d["duplicate_of"] or d["id"] for d in exported}
    assert len(clusters) == len(exported) - 1 == search(crawled, "NOT zzzz")["total"]


def test_specific_words_find_specific_documents(site: Site, crawled: Workspace) -> None:
    for word in ("Provías", "Pataz", "huaico"):
        article = only_article(site, word)
        hits = search(crawled, word)["hits"]
        assert [h["url"] for h in hits] == [article_url(article, site.base_url)], word
        assert hits[0]["title"] == article["title"]


def test_accent_insensitive(site: Site, crawled: Workspace) -> None:
    with_accent = search(crawled, "corrupción")
    without = search(crawled, "corrupcion")
    assert without["total"] == with_accent["total"]
    expected = {
        article_url(a, site.base_url) for a in site.articles
        if "corrupcion" in re.findall(r"\w+", fold(" ".join([a["title"], *a["paragraphs"]])))
    }
    found = {hit["url"] for hit in without["hits"]}
    # the syndicated copy and its original both match, and show as one hit
    assert found <= expected
    assert len(expected) - len(found) == sum(h["duplicates"] for h in without["hits"]) == 1
    assert "<mark>" in without["hits"][0]["snippet"]
    assert search(crawled, "PROVIAS")["total"] == 1


def test_feed_dates_and_sources(site: Site, crawled: Workspace) -> None:
    article = only_article(site, "Pataz")
    (hit,) = search(crawled, "pataz")["hits"]
    assert hit["published"] == article["published"]
    assert hit["source"] == f"demo-{article['outlet']}" or hit["source"] == "demo-sitemap"


def test_entities_are_stored(crawled: Workspace) -> None:
    db = sqlite3.connect(crawled.data_dir / "pesquisa.db")
    kinds = dict(db.execute("SELECT kind, COUNT(*) FROM entities GROUP BY kind").fetchall())
    assert kinds.get("person", 0) > 10 and kinds.get("place", 0) > 5
    (orphans,) = db.execute(
        "SELECT COUNT(*) FROM mentions m LEFT JOIN documents d ON d.id = m.document_id "
        "WHERE d.id IS NULL").fetchone()
    assert orphans == 0


def test_crawl_twice_adds_nothing(workspace: Workspace) -> None:
    workspace.cli("crawl", check=True)
    db = workspace.data_dir / "pesquisa.db"
    first = sqlite3.connect(db).execute("SELECT id, fetched_at FROM documents").fetchall()
    second_run = workspace.cli("crawl", "demo-larepublica", "demo-rpp", check=True)
    again = sqlite3.connect(db).execute("SELECT id, fetched_at FROM documents").fetchall()
    assert sorted(again) == sorted(first)  # same documents, untouched
    lines = {line.split()[0]: line.split() for line in second_run.stdout.splitlines()[1:]}
    # robots.txt and the feed only, and the feed is unchanged (304): no article is looked at
    assert lines["demo-larepublica"][1:5] == ["2", "0", "0", "0"]  # fetched new updated seen
    not_modified = sqlite3.connect(db).execute(
        "SELECT not_modified FROM crawl_runs WHERE source = 'demo-larepublica' ORDER BY id DESC"
    ).fetchone()[0]
    assert not_modified == 1
    # the feed item with utm_* parameters is the same document as the clean link
    urls = [row[0] for row in sqlite3.connect(db).execute("SELECT url FROM documents")]
    assert not any("utm_" in url for url in urls)


def assert_one_line(result: Any, code: int, needle: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert lines[0].startswith("pesquisa: error: [E")
    assert "Traceback" not in result.stderr


def test_one_line_errors(workspace: Workspace) -> None:
    assert_one_line(workspace.cli("search", "a AND ("), 2, "E501")
    assert_one_line(workspace.cli("crawl", "no-such-source"), 2, "E205")
    assert_one_line(workspace.cli("sources", "check", "missing.yml"), 2, "E202")
    broken = workspace.sources_dir / "broken.yml"
    broken.write_text("id: broken\nname: Roto\nkind: feed\nurls: []\nschedule: '* * * * *'\n")
    assert_one_line(workspace.cli("crawl"), 2, "broken.yml")
    assert_one_line(workspace.cli("sources", "check", str(broken)), 2, "urls")
    env_bad = workspace.env | {"PESQUISA_INDEX_BACKEND": "solr"}
    workspace.env = env_bad
    assert_one_line(workspace.cli("search", "x"), 2, "index_backend")


def test_one_line_errors_for_broken_state(workspace: Workspace, tmp_path: Path) -> None:
    assert_one_line(workspace.cli("search", "lima"), 1, "E505")  # nothing indexed yet
    assert_one_line(workspace.cli("export", "documents"), 1, "E604")
    workspace.data_dir.mkdir(parents=True, exist_ok=True)
    (workspace.data_dir / "pesquisa.db").write_bytes(b"this is not a database" * 100)
    assert_one_line(workspace.cli("process"), 2, "E601")
    assert_one_line(workspace.cli("export", "documents", "-o", str(tmp_path)), 2, "E601")
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    assert_one_line(workspace.cli("--data-dir", str(blocked / "data"), "process"), 2, "E701")
    assert_one_line(workspace.cli("--data-dir", str(blocked / "data"), "reindex"), 1, "E604")
    with socket.socket() as probe:  # a port nothing listens on: Elasticsearch is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workspace.env = workspace.env | {"PESQUISA_INDEX_BACKEND": "elasticsearch",
                                     "PESQUISA_INDEX_URL": f"http://127.0.0.1:{port}"}
    assert_one_line(workspace.cli("run", "--port", "0"), 3, "E504")
    assert_one_line(workspace.cli("serve", "--port", "0"), 3, "E504")
    assert_one_line(workspace.cli("search", "-Lima"), 3, "E504")  # -Lima is a query here
    assert_one_line(workspace.cli("process"), 2, "E601")  # the store, first
    assert_one_line(workspace.cli("reindex", "--to", "elasticsearch"), 2, "E601")
    fresh = str(tmp_path / "fresh")  # nothing to annotate: the index is all that is missing
    assert_one_line(workspace.cli("--data-dir", fresh, "process"), 3, "E504")


def test_one_line_errors_for_bad_flags_and_files(workspace: Workspace, tmp_path: Path) -> None:
    result = workspace.cli("serve", "--port", "99999")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "99999" in result.stderr and "Traceback" not in result.stderr
    assert_one_line(workspace.cli("serve", "--host", "nonexistent.invalid"), 2, "E706")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe data_dir = 1")
    assert_one_line(workspace.cli("--config", str(bad), "sources", "list"), 2, "E102")


def test_export_follows_a_symlink(crawled: Workspace, tmp_path: Path) -> None:
    target = tmp_path / "target.jsonl"
    target.write_text("old")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    crawled.cli("export", "documents", "-o", str(link), check=True)
    assert link.is_symlink() and len(target.read_text().splitlines()) >= 34


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _stored(db: Path) -> dict[str, int]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return dict(conn.execute("SELECT status, COUNT(*) FROM documents GROUP BY status"))
    except sqlite3.OperationalError:  # not created yet
        return {}


def _wait(what: str, ready: Callable[[], bool], child: subprocess.Popen[str],
          seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and child.poll() is None:
        if ready():
            return
        time.sleep(0.3)
    raise AssertionError(f"`pesquisa run` never got to: {what}")


def test_run_keeps_crawling_while_elasticsearch_is_down_and_catches_up(
    site: Site, workspace: Workspace, es_url: str, es_prefix: str, es_client: Elasticsearch
) -> None:
    """Elasticsearch goes down while `pesquisa run` crawls: crawls and NLP go on, searches
    answer 503, the worker says so in one line and keeps the documents queued; when the node
    is back, everything is indexed."""
    relay = Outage(es_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = workspace.env | {
        "PESQUISA_INDEX_BACKEND": "elasticsearch", "PESQUISA_INDEX_URL": relay.url,
        "PESQUISA_ELASTICSEARCH__INDEX": es_prefix, "PESQUISA_ELASTICSEARCH__TIMEOUT": "5",
        "PESQUISA_WORKER__INTERVAL": "1"}
    child = subprocess.Popen([sys.executable, "-m", "pesquisa", "run", "--port", str(port)],
                             env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    db = workspace.data_dir / "pesquisa.db"
    try:
        _wait("serving", lambda: _reachable(f"{base}/api/health"), child)
        relay.cut()  # Elasticsearch goes down; the crawls of the start are under way
        _wait("crawling and annotating all the same",
              lambda: _stored(db).get("annotated", 0) >= 20, child)
        status, body = _get(f"{base}/api/search?q=pataz")
        assert status == 503 and body["error"]["code"] == "E504"
        relay.restore()
        everything = len(site.articles)  # and a few near-duplicates in several sources
        _wait("indexing what waited", lambda: set(_stored(db)) <= {"indexed", "failed"}
              and _stored(db).get("indexed", 0) >= everything, child)
        assert _get(f"{base}/api/search?q=pataz")[1]["total"] == 1
        assert es_client.count(index=es_prefix)["count"] == _stored(db)["indexed"]
    finally:
        relay.cut()
        stderr = interrupt(child)
    assert child.returncode in (0, 130), stderr
    assert "E504" in stderr and "Traceback" not in stderr  # the worker said it, in one line


def _reachable(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False
