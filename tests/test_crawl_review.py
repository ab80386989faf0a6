"""Defects found reviewing the crawl path, each shown on a real local server or on recorded
pages: documents lost after a failed run, bad dates and malformed links that stopped a whole
feed, sitemap or index, and compressed pages that slipped past the page size limit."""

from __future__ import annotations

import contextlib
import gzip
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawlers.extract import to_iso
from pesquisa.sources import load_source_file, parse_source, write_source
from pesquisa.store import Store
from tests.conftest import Workspace
from tests.faultserver import article
from tests.replay import Page, load_fixture, replay
from tests.test_listing import CONFIG, MPFN, remember

# (status, content type, body, extra headers)
Reply = tuple[int, str, bytes, dict[str, str]]
HTML = "text/html; charset=utf-8"


class Scripted:
    """A local HTTP server answering each path from `routes`, which a test may change between
    crawls; `hits` lists the paths asked for, in order. ETags are honoured (304)."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.hits: list[str] = []
        handler = type("Handler", (_Handler,), {"server_": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Scripted:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_: Scripted
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server_.hits.append(self.path)
        status, kind, body, headers = self.server_.routes.get(
            self.path, (404, HTML, b"<html><body>No encontrado</body></html>", {})
        )
        if headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
            status, body = 304, b""
        self.send_response(status)
        self.send_header("Content-Type", kind)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    with Scripted() as server:
        server.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nAllow: /\n", {})
        yield server


def page(n: int) -> Reply:
    return 200, HTML, article(f"Nota de prueba número {n}", n).encode(), {}


def index(links: list[str], etag: str) -> Reply:
    cards = "".join(f'<li class="card"><a href="{link}">Nota {link}</a></li>' for link in links)
    chrome = "<p>Portal institucional: noticias, comunicados y notas de prensa de la entidad.</p>"
    body = f"<html><body>{chrome}<ul>{cards}</ul>{chrome}</body></html>"
    return 200, HTML, body.encode(), {"ETag": etag}


def stored_urls(ws: Workspace) -> set[str]:
    db = sqlite3.connect(ws.data_dir / "pesquisa.db")
    return {row[0] for row in db.execute("SELECT url FROM documents")}


def last_failures(ws: Workspace, source: str) -> list[dict[str, Any]]:
    with Store(ws.data_dir / "pesquisa.db") as store:
        (run_id,) = store.db.execute(
            "SELECT max(id) FROM crawl_runs WHERE source = ?", (source,)
        ).fetchone()
        return store.failures(run_id)


# -- documents lost after a failed or killed run -----------------------------------------------


def test_a_failed_article_on_page_two_is_fetched_by_the_next_run(
    workspace: Workspace, scripted: Scripted
) -> None:
    """Run 1 stores page 1's articles but one of page 2's fails. Run 2 used to get a 304 for
    page 1 (its validators were kept: only its direct links were checked for failures), or,
    page 1 changed, stop there (all its cards known): the failed article was never retried."""
    workspace.env["PESQUISA_CRAWL__RETRIES"] = "0"
    routes = scripted.routes
    routes["/noticias"] = index(["/n/1", "/n/2"], '"p1"')
    routes["/noticias?sheet=2"] = index(["/n/3", "/n/4"], '"p2"')
    routes["/noticias?sheet=3"] = index([], '"p3"')
    for n in (1, 2, 3):
        routes[f"/n/{n}"] = page(n)
    routes["/n/4"] = (500, HTML, b"<html><body>Error</body></html>", {})
    write_source({"id": "lista", "name": "Lista", "kind": "listing",
                  "urls": [scripted.base + "/noticias"], "schedule": "0 * * * *",
                  "items": "li.card", "link": "a::attr(href)", "page_param": "sheet",
                  "first_page": 1}, workspace.sources_dir)

    workspace.cli("crawl", "lista", check=True, timeout=120)
    assert stored_urls(workspace) == {f"{scripted.base}/n/{n}" for n in (1, 2, 3)}
    assert [f["reason"] for f in last_failures(workspace, "lista")] == ["HTTP 500"]

    routes["/n/4"] = page(4)
    workspace.cli("crawl", "lista", check=True, timeout=120)
    assert f"{scripted.base}/n/4" in stored_urls(workspace), scripted.hits
    assert last_failures(workspace, "lista") == []


def test_listing_pages_on_after_an_unfinished_run(tmp_path: Path) -> None:
    """A run killed after storing sheet 1's articles, before sheet 2: the next run must not
    stop at sheet 1 (all known) and lose sheet 2 for good."""
    source = load_source_file(CONFIG / "mpfn-noticias.yml")
    pages, _ = load_fixture("mpfn-noticias")
    store = tmp_path / "store.db"
    first = replay(source, pages, store)
    remember(store, [i for i in first.items if (i.published or "") >= "2026-09-27"])
    with Store(store) as db:
        db.start_run(source.id)  # never finished: the process was killed
    again = replay(source, pages, store)
    assert f"{MPFN}?sheet=2" in again.requested
    assert [i.published for i in again.items] == ["2026-09-25T09:05:00-05:00"]


@pytest.mark.parametrize("reason", ["closespider_itemcount", "shutdown"])
def test_listing_pages_on_after_a_run_stopped_early(tmp_path: Path, reason: str) -> None:
    """A run stopped by max_items_per_run or Ctrl-C finishes without failures, yet it may not
    have read sheet 2: its close reason says so, and the next run pages on."""
    from pesquisa.store import RunCounts

    source = load_source_file(CONFIG / "mpfn-noticias.yml")
    pages, _ = load_fixture("mpfn-noticias")
    store = tmp_path / "store.db"
    first = replay(source, pages, store)
    remember(store, [i for i in first.items if (i.published or "") >= "2026-09-27"])
    with Store(store) as db:
        db.finish_run(db.start_run(source.id), RunCounts(new=2), close_reason=reason)
    again = replay(source, pages, store)
    assert f"{MPFN}?sheet=2" in again.requested
    with Store(store) as db:  # the same run read to the end: sheet 1 of known cards stops it
        db.finish_run(db.start_run(source.id), RunCounts(new=2), close_reason="finished")
    assert f"{MPFN}?sheet=2" not in replay(source, pages, store).requested


# -- bad dates and bad links -------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "0001-01-01T00:00:00Z",  # .NET's DateTime.MinValue, as some CMSs print an unset date
    "0001-01-01T00:00:00",
    "1900-01-01",  # a spreadsheet's or database's zero date
    "9999-12-31T23:59:59-12:00",
])
def test_placeholder_dates_are_no_dates(value: str) -> None:
    assert to_iso(value) is None


def test_a_placeholder_date_does_not_stop_a_sitemap(tmp_path: Path) -> None:
    """to_iso raised OverflowError on year 1: the sitemap's callback died at that entry."""
    base = "https://noticias.example.pe"
    news = "http://www.google.com/schemas/sitemap-news/0.9"
    entries = "".join(
        f"<url><loc>{base}/nota/{n}</loc><news:news><news:publication_date>{day}"
        "</news:publication_date></news:news></url>"
        for n, day in enumerate(["0001-01-01T00:00:00Z", "2026-09-28T10:00:00-05:00"])
    )
    sitemap = (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
               f'sitemap/0.9" xmlns:news="{news}">{entries}</urlset>').encode()
    source = parse_source({"id": "mapa", "name": "Mapa", "kind": "sitemap",
                           "urls": [f"{base}/sitemap.xml"], "schedule": "0 * * * *"},
                          tmp_path / "mapa.yml")
    result = replay(source, {f"{base}/sitemap.xml": Page(sitemap, "application/xml")},
                    tmp_path / "store.db")
    assert result.missing == [f"{base}/nota/0", f"{base}/nota/1"]


def test_a_malformed_link_does_not_stop_a_sitemap(tmp_path: Path) -> None:
    """A <loc> urljoin cannot read ("http://[..."): the rest of the sitemap is still read."""
    base = "https://noticias.example.pe"
    entries = "".join(f"<url><loc>{loc}</loc></url>" for loc in ["http://[roto/1", "/nota/2"])
    sitemap = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
               f'sitemap/0.9">{entries}</urlset>').encode()
    source = parse_source({"id": "mapa", "name": "Mapa", "kind": "sitemap",
                           "urls": [f"{base}/sitemap.xml"], "schedule": "0 * * * *"},
                          tmp_path / "mapa.yml")
    result = replay(source, {f"{base}/sitemap.xml": Page(sitemap, "application/xml")},
                    tmp_path / "store.db")
    assert result.missing == [f"{base}/nota/2"]


def test_a_malformed_link_does_not_stop_an_index_page(tmp_path: Path) -> None:
    base = "https://www.gob.pe/institucion/x/noticias"
    listing = (b'<html><body><ul><li class="card"><a href="http://[roto/1">a</a></li>'
               b'<li class="card"><a href="/nota/2">b</a></li></ul></body></html>')
    source = parse_source({"id": "idx", "name": "Idx", "kind": "listing", "urls": [base],
                           "schedule": "0 * * * *", "items": "li.card",
                           "link": "a::attr(href)"}, tmp_path / "idx.yml")
    result = replay(source, {base: Page(listing)}, tmp_path / "store.db")
    assert result.missing == ["https://www.gob.pe/nota/2"]


# -- size limits on compressed pages -----------------------------------------------------------


def test_a_compressed_page_over_the_limit_is_a_failure(
    workspace: Workspace, scripted: Scripted
) -> None:
    """A 10 KB gzip body that inflates to 3 MB passed the 100 KB page limit (only the bytes
    on the wire were counted); over DOWNLOAD_MAXSIZE it was dropped without a trace."""
    workspace.env["PESQUISA_CRAWL__MAX_PAGE_BYTES"] = "100000"
    workspace.env["PESQUISA_CRAWL__RETRIES"] = "0"
    bomb = article("Nota inflada", 1, "relleno " * 400_000).encode()
    small = article("Nota comprimida", 2).encode()
    gz = {"Content-Encoding": "gzip"}
    scripted.routes["/inflada"] = (200, HTML, gzip.compress(bomb), gz)
    scripted.routes["/comprimida"] = (200, HTML, gzip.compress(small), gz)
    items = "".join(f"<item><title>N</title><link>{scripted.base}{p}</link></item>"
                    for p in ("/inflada", "/comprimida"))
    scripted.routes["/rss"] = (200, "application/rss+xml", (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<link>{scripted.base}</link><description>d</description>{items}</channel></rss>"
    ).encode(), {})
    write_source({"id": "gz", "name": "Gz", "kind": "feed", "urls": [scripted.base + "/rss"],
                  "schedule": "0 * * * *"}, workspace.sources_dir)
    workspace.cli("crawl", "gz", check=True, timeout=120)
    assert stored_urls(workspace) == {scripted.base + "/comprimida"}
    (failure,) = last_failures(workspace, "gz")
    assert failure["url"] == scripted.base + "/inflada"
    assert failure["reason"].startswith("too large"), failure


def test_a_crash_in_a_callback_is_a_recorded_failure(tmp_path: Path) -> None:
    """A bug in a callback loses the rest of that page: it must count as a failure with its
    URL (so the page's validators are not kept), not vanish into the log."""
    from scrapy import signals
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler
    from twisted.python.failure import Failure

    from crawlers.spiders.feed import FeedSpider

    source = parse_source({"id": "roto", "name": "Roto", "kind": "feed",
                           "urls": ["https://example.org/feed"], "schedule": "*/30 * * * *"},
                          tmp_path / "roto.yml")
    store_path = tmp_path / "store.db"
    with Store(store_path) as store:
        run_id = store.start_run("roto")
    crawler = get_crawler(FeedSpider)
    spider = FeedSpider.from_crawler(crawler, source=source, store_path=str(store_path))
    crawler.spider = spider
    crawler.stats.set_value("pesquisa/run_id", run_id)
    page = HtmlResponse("https://example.org/feed", body=b"<html></html>",
                        request=Request("https://example.org/feed"))
    try:
        raise KeyError("title")
    except KeyError:
        failure = Failure()
    crawler.signals.send_catch_log(signals.spider_error, failure=failure, response=page,
                                   spider=spider)
    spider.closed("finished")
    with Store(store_path) as store:
        (recorded,) = store.failures(run_id)
    assert recorded["url"] == "https://example.org/feed"
    assert recorded["reason"] == "internal error: KeyError: 'title'"
    assert crawler.stats.get_value("pesquisa/failures") == 1
