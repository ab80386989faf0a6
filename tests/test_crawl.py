"""Crawler behaviour on pages we control: hosts, robots.txt, broken feeds, dead hosts."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pesquisa.demo.site import DemoServer
from pesquisa.sources import write_source
from tests.conftest import Site, Workspace

pytestmark = pytest.mark.slow

ARTICLE = """<!doctype html><html lang="es"><head><title>{title} | Diario Prueba</title>
<meta property="article:published_time" content="2026-10-0{n}T10:00:00-05:00"></head>
<body><nav><a href="/">Inicio</a> <a href="/politica">Política</a></nav><article><h1>{title}</h1>
<p>{body} La Fiscalía anticorrupción de Lima informó que la investigación continúa y que
se solicitarán nuevas diligencias en los próximos días, según fuentes del Ministerio Público.</p>
<p>El caso fue derivado a la Sala Penal, que evaluará el pedido de prisión preventiva
presentado contra los investigados por presunta colusión agravada.</p></article>
<footer>Todos los derechos reservados</footer></body></html>"""


def feed(links: list[str]) -> str:
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    channel = f"<channel><title>x</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


@pytest.fixture
def small_site(tmp_path: Path) -> Iterator[DemoServer]:
    root = tmp_path / "small"
    root.mkdir()
    server = DemoServer(root)
    base = server.base_url
    other_host = base.replace("127.0.0.1", "localhost")  # same server, another host name
    for n, title in enumerate(["Primera nota de prueba", "Segunda nota de prueba"], start=1):
        (root / f"nota{n}").write_text(
            ARTICLE.format(title=title, body=f"Texto único palabra{n}.", n=n), encoding="utf-8")
    (root / "privado").mkdir()
    (root / "privado" / "nota3").write_text(
        ARTICLE.format(title="Nota privada", body="palabra3", n=3), encoding="utf-8")
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /privado/\n")
    (root / "feed.xml").write_text(
        feed([f"{base}/nota1", f"{other_host}/nota2", f"{base}/privado/nota3"]))
    # rel=canonical: a javascript: URL must never become a link; another path on the same
    # site is trusted; the home page is not (some sites name it canonical of every page).
    for name, canonical in [("nota4", "javascript://127.0.0.1/%0aalert(document.domain)"),
                            ("nota5", f"{base}/nota5-canonica?utm_source=x"),
                            ("nota6", f"{base}/")]:
        page = ARTICLE.format(title=f"Nota {name} de prueba", body=f"Texto {name}.", n=4)
        page = page.replace("</head>", f'<link rel="canonical" href="{canonical}"></head>')
        (root / name).write_text(page, encoding="utf-8")
    (root / "canonical.xml").write_text(feed(
        ["http://127.0.0.1:abc/malformado", f"{base}/nota4", f"{base}/nota5", f"{base}/nota6"]))
    (root / "not-a-feed.xml").write_text("<html><body>Mantenimiento</body></html>")
    secret = root.parent / "secreto.html"
    secret.write_text(ARTICLE.format(title="Archivo local secreto", body="clave", n=5))
    (root / "hostil.xml").write_text(feed([
        f"file://127.0.0.1{secret}", f"{base}/no-existe", f"{base}/nota1"]))
    (root / "sin-sitemaps").mkdir()
    (root / "indice.xml").write_text(
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/hijo-perdido.xml</loc></sitemap></sitemapindex>")
    with server:
        yield server


def add_source(ws: Workspace, ident: str, url: str) -> None:
    write_source({"id": ident, "name": ident, "kind": "feed", "urls": [url],
                  "schedule": "*/30 * * * *"}, ws.sources_dir)


def stored_urls(ws: Workspace) -> list[str]:
    db = sqlite3.connect(ws.data_dir / "pesquisa.db")
    return sorted(row[0] for row in db.execute("SELECT url FROM documents"))


def test_only_own_hosts_and_robots(workspace: Workspace, small_site: DemoServer) -> None:
    add_source(workspace, "prueba", f"{small_site.base_url}/feed.xml")
    result = workspace.cli("crawl", "prueba")
    assert result.returncode == 0, result.stderr
    # nota2 sits on another host name; nota3 is disallowed by robots.txt
    assert stored_urls(workspace) == [f"{small_site.base_url}/nota1"]
    assert result.stdout.splitlines()[1].split()[5] == "0"  # skipping on purpose is no failure
    db = sqlite3.connect(workspace.data_dir / "pesquisa.db")
    title, published = db.execute("SELECT title, published FROM documents").fetchone()
    assert (title, published) == ("Primera nota de prueba", "2026-10-01T10:00:00-05:00")


def test_a_source_may_allow_more_domains(workspace: Workspace, small_site: DemoServer) -> None:
    add_source(workspace, "prueba", f"{small_site.base_url}/feed.xml")
    path = workspace.sources_dir / "prueba.yml"
    path.write_text(path.read_text() + "allowed_domains: [localhost]\n")
    workspace.cli("crawl", "prueba", check=True)
    assert len(stored_urls(workspace)) == 2


def test_broken_feed_and_dead_host_are_one_line_failures(
    workspace: Workspace, small_site: DemoServer, site: Site
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    add_source(workspace, "roto", f"{small_site.base_url}/not-a-feed.xml")
    add_source(workspace, "muerto", f"http://127.0.0.1:{dead_port}/feed.xml")
    result = workspace.cli("crawl", "roto", "muerto", "demo-rpp")
    assert result.returncode == 3
    last = result.stderr.strip().splitlines()[-1]
    # both are dead: the broken one answers, but with no feed at its only start URL
    assert last.startswith("pesquisa: error: [E301] crawl of roto, muerto failed: not a feed")
    assert "Traceback" not in result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["roto"][5] == "1" and rows["muerto"][5] == "1"
    assert int(rows["demo-rpp"][2]) >= 5  # the healthy source in the same run still lands
    db = sqlite3.connect(workspace.data_dir / "pesquisa.db")
    errors = dict(db.execute("SELECT source, last_error FROM crawl_runs"))
    assert "not a feed" in errors["roto"]
    assert "Connection" in errors["muerto"] or "refused" in errors["muerto"]


def test_canonical_urls_and_malformed_links(workspace: Workspace, small_site: DemoServer) -> None:
    base = small_site.base_url
    add_source(workspace, "canonica", f"{base}/canonical.xml")
    first = workspace.cli("crawl", "canonica")
    assert first.returncode == 0, first.stderr
    assert stored_urls(workspace) == [f"{base}/nota4", f"{base}/nota5-canonica", f"{base}/nota6"]
    row = first.stdout.splitlines()[1].split()
    assert row[2] == "3" and row[5] == "1"  # 3 new; the malformed link is a failure
    # a changed feed (else it answers 304 Not Modified and no link is even looked at)
    feed = small_site.root / "canonical.xml"
    os.utime(feed, (feed.stat().st_atime, feed.stat().st_mtime + 60))
    again = workspace.cli("crawl", "canonica", check=True).stdout.splitlines()[1].split()
    # the feed and robots.txt only: nota5, stored under its canonical URL, is not refetched
    assert (again[1], again[2], again[4]) == ("2", "0", "3")


class _Recording(SimpleHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.headers.get("Host", ""), self.path))
        if self.path == "/salto":
            port = self.server.server_address[1]  # type: ignore[index]
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/feed.xml")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_a_redirect_to_another_host_is_not_followed(workspace: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "redirect"
    root.mkdir()
    (root / "feed.xml").write_text(feed([]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Recording, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        add_source(workspace, "salto", f"http://127.0.0.1:{port}/salto")
        result = workspace.cli("crawl", "salto")
    finally:
        server.shutdown()
        server.server_close()
    assert not [host for host, _ in _Recording.seen if host.startswith("localhost")]
    assert result.returncode == 3 and "crawl of salto failed" in result.stderr


def test_http_errors_and_non_web_links_are_failures(
    workspace: Workspace, small_site: DemoServer
) -> None:
    base = small_site.base_url
    add_source(workspace, "hostil", f"{base}/hostil.xml")
    add_source(workspace, "perdido", f"{base}/no-hay-feed.xml")
    result = workspace.cli("crawl", "hostil", "perdido")
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["hostil"][2] == "1" and rows["hostil"][5] == "2"  # file: link and a 404
    assert stored_urls(workspace) == [f"{base}/nota1"]  # never the local file
    assert result.returncode == 3 and "crawl of perdido failed: HTTP 404" in result.stderr


def test_sitemap_starts_count_only_when_they_reach_articles(
    workspace: Workspace, small_site: DemoServer
) -> None:
    base = small_site.base_url
    for ident, url in [("indice", f"{base}/indice.xml"), ("robots", f"{base}/robots.txt")]:
        write_source({"id": ident, "name": ident, "kind": "sitemap", "urls": [url],
                      "schedule": "*/30 * * * *"}, workspace.sources_dir)
    result = workspace.cli("crawl", "indice", "robots")
    # the index's only child is gone; the robots.txt names no sitemap
    assert result.returncode == 3 and "crawl of indice, robots failed" in result.stderr


def test_two_starts_leading_to_one_sitemap_both_count(
    workspace: Workspace, small_site: DemoServer
) -> None:
    base = small_site.base_url
    (small_site.root / "hijo.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/nota1</loc></url></urlset>")
    for name in ("indice-a.xml", "indice-b.xml"):
        (small_site.root / name).write_text(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/hijo.xml</loc></sitemap></sitemapindex>")
    write_source({"id": "dos-indices", "name": "Dos índices", "kind": "sitemap",
                  "urls": [f"{base}/indice-a.xml", f"{base}/indice-b.xml"],
                  "schedule": "*/30 * * * *"}, workspace.sources_dir)
    workspace.cli("crawl", "dos-indices", check=True)
    db = sqlite3.connect(workspace.data_dir / "pesquisa.db")
    (start_failures,) = db.execute("SELECT start_failures FROM crawl_runs").fetchone()
    assert start_failures == 0  # hijo.xml is fetched once, for both indexes


def test_since_on_a_feed_says_it_has_no_past(workspace: Workspace, small_site: DemoServer) -> None:
    add_source(workspace, "prueba", f"{small_site.base_url}/feed.xml")
    result = workspace.cli("crawl", "prueba", "--since", "2026-01-01")
    assert result.returncode == 0, result.stderr
    assert "prueba: a feed has no older pages to reach; --since ignored" in result.stderr
    assert len(stored_urls(workspace)) == 1  # crawled as usual
    db = sqlite3.connect(workspace.data_dir / "pesquisa.db")
    assert db.execute("SELECT close_reason FROM crawl_runs").fetchall() == [("finished",)]
