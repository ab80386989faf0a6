"""Evidence: every fetched response lands in WARC files, and documents point to theirs.

The WARC files are read with warcio's own ArchiveIterator and checked with `warcio check`,
not with our reader only.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import io
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from warcio.archiveiterator import ArchiveIterator

from pesquisa.archive import read_archived
from pesquisa.errors import PesquisaError
from pesquisa.sources import write_source
from pesquisa.store import Document, Store
from pesquisa.web.app import create_app
from tests.conftest import Site, Workspace, make_workspace

WARCIO = Path(sys.executable).with_name("warcio")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def warc_files(data_dir: Path, source: str = "*") -> list[Path]:
    return sorted(data_dir.glob(f"warc/{source}/*.warc.gz"))


def records(path: Path) -> list[dict[str, Any]]:
    """Every record of a WARC file, as warcio reads it (digests checked as it goes)."""
    found = []
    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle, check_digests="raise")
        for record in iterator:
            payload = record.raw_stream.read()
            found.append({
                "type": record.rec_type, "uri": record.rec_headers.get_header("WARC-Target-URI"),
                "status": record.http_headers.get_statuscode() if record.http_headers else None,
                "digest": record.rec_headers.get_header("WARC-Payload-Digest"),
                "payload": payload, "offset": iterator.offset,
                "headers": record.http_headers.headers if record.http_headers else [],
            })
    return found


def documents(data_dir: Path) -> list[Document]:
    with Store(data_dir / "pesquisa.db", read_only=True) as store:
        return list(store.iter_documents())


def fetched_per_source(data_dir: Path) -> dict[str, int]:
    db = sqlite3.connect(data_dir / "pesquisa.db")
    return dict(db.execute("SELECT source, fetched FROM crawl_runs"))


def record_at(data_dir: Path, doc: Document) -> dict[str, Any]:
    """The record a document's pointer names, read by seeking into the file."""
    assert doc.warc is not None
    with (data_dir / doc.warc.file).open("rb") as handle:
        handle.seek(doc.warc.offset)
        chunk = handle.read(doc.warc.length)
    assert chunk[:2] == b"\x1f\x8b"  # a gzip member starts exactly there
    member = records_in(chunk)
    assert len(member) == 1  # ... and holds exactly one record
    return member[0]


def records_in(chunk: bytes) -> list[dict[str, Any]]:
    found = []
    for record in ArchiveIterator(io.BytesIO(chunk), check_digests="raise"):
        found.append({
            "type": record.rec_type, "uri": record.rec_headers.get_header("WARC-Target-URI"),
            "status": record.http_headers.get_statuscode(),
            "digest": record.rec_headers.get_header("WARC-Payload-Digest"),
            "payload": record.raw_stream.read(),
            "headers": record.http_headers.headers,
        })
    return found


# -- a crawl of the demo site, shared by the tests that only read it -----------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, site: Site) -> Workspace:
    ws = make_workspace(tmp_path_factory.mktemp("warc-demo"), site)
    ws.cli("crawl", check=True)
    return ws


@pytest.mark.slow
def test_every_response_of_a_crawl_is_archived(demo: Workspace) -> None:
    fetched = fetched_per_source(demo.data_dir)
    assert set(fetched) == {path.stem for path in demo.sources_dir.glob("*.yml")}
    for source, count in fetched.items():
        files = warc_files(demo.data_dir, source)
        assert files, source
        found = [r for path in files for r in records(path)]
        assert records(files[0])[0]["type"] == "warcinfo"
        responses = [r for r in found if r["type"] == "response"]
        # Scrapy's downloader/response_count: every response it got, robots.txt included
        assert len(responses) == count, source
        assert len([r for r in found if r["type"] == "request"]) == count
        assert any(r["uri"].endswith("/robots.txt") for r in responses)
        for response in responses:
            assert response["digest"] == sha256(response["payload"])
    for path in warc_files(demo.data_dir):
        check = subprocess.run([str(WARCIO), "check", "-v", str(path)],
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "digest pass" in check.stdout and "fail" not in check.stdout


@pytest.mark.slow
def test_each_document_points_to_its_own_response(demo: Workspace) -> None:
    docs = documents(demo.data_dir)
    assert len(docs) >= 20
    for doc in docs:
        assert doc.warc is not None and doc.warc.digest.startswith("sha256:")
        assert doc.warc.file.startswith(f"warc/{doc.source}/")
        record = record_at(demo.data_dir, doc)
        assert record["type"] == "response" and record["status"] == "200"
        assert sha256(record["payload"]) == doc.warc.digest == record["digest"]
        assert urlsplit(record["uri"]).path == urlsplit(doc.url).path
        assert doc.title in html.unescape(record["payload"].decode("utf-8"))
        copy = read_archived(demo.data_dir, doc)  # ours agrees with warcio
        assert (copy.digest, copy.payload) == (doc.warc.digest, record["payload"])
        assert copy.status_line.endswith(" 200 OK")


@pytest.mark.slow
def test_archive_show_prints_the_archived_response(demo: Workspace) -> None:
    doc = documents(demo.data_dir)[0]
    assert doc.warc is not None
    shown = demo.cli("archive", "show", doc.id, check=True)
    head, _, body = shown.stdout.partition("\n\n")  # text mode: CRLF read as LF
    assert head.startswith("HTTP/1.") and " 200 OK" in head.splitlines()[0]
    assert "Content-Type: text/html" in head
    assert doc.title in html.unescape(body)
    assert doc.warc.digest in shown.stderr and "captured 20" in shown.stderr
    headers = demo.cli("archive", "show", "--headers", doc.id, check=True)
    assert headers.stdout.rstrip() == head.rstrip()
    raw = subprocess.run([sys.executable, "-m", "pesquisa", "archive", "show", "--raw", doc.id],
                         env=demo.env, capture_output=True, timeout=60, check=True)
    assert sha256(raw.stdout) == doc.warc.digest
    unknown = demo.cli("archive", "show", "no-such-document")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "pesquisa: error: [E603] document not found: no-such-document"


@pytest.mark.slow
def test_api_serves_the_archived_copy_sandboxed(demo: Workspace) -> None:
    doc = documents(demo.data_dir)[0]
    assert doc.warc is not None
    with TestClient(create_app(demo.settings()), raise_server_exceptions=False) as client:
        got = client.get(f"/api/documents/{doc.id}/archive")
        assert got.status_code == 200
        assert got.headers["content-type"] == "text/html; charset=utf-8"  # the site's own
        csp = got.headers["content-security-policy"]
        assert csp.split(";")[0] == "sandbox" and "default-src 'none'" in csp
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"] == f'inline; filename="{doc.id}.html"'
        assert sha256(got.content) == doc.warc.digest
        assert doc.title in html.unescape(got.text)
        meta = client.get(f"/api/documents/{doc.id}").json()
        assert meta["warc"]["digest"] == doc.warc.digest
        assert meta["archive"]["url"] == f"/api/documents/{doc.id}/archive"
        assert meta["archive"]["captured"].endswith("Z")
        page = client.get(f"/documento/{doc.id}").text
        assert "copia archivada" in page and doc.warc.digest.removeprefix("sha256:") in page
        assert f'href="/api/documents/{doc.id}/archive"' in page
        assert meta["archive"]["captured"][:10] in page
        missing = client.get("/api/documents/nope/archive")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "E603"


@pytest.mark.slow
def test_a_damaged_archive_is_a_coded_error(demo: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(demo.data_dir, data)
    ws = Workspace(data, demo.sources_dir, {**demo.env, "PESQUISA_DATA_DIR": str(data)})
    doc = documents(data)[0]
    assert doc.warc is not None
    path = data / doc.warc.file
    pristine = path.read_bytes()
    # Any flipped byte of the record: still the same payload (gzip header fields nobody
    # checks), or E609 (unreadable) or E610 (digest mismatch). Never another exception.
    codes = set()
    for at in range(doc.warc.offset, doc.warc.offset + doc.warc.length, 37):
        damaged = bytearray(pristine)
        damaged[at] ^= 0x55
        path.write_bytes(damaged)
        try:
            assert read_archived(data, doc).digest == doc.warc.digest
        except PesquisaError as exc:
            codes.add(exc.code)
    assert codes <= {"E609", "E610"} and codes
    middle = bytearray(pristine)
    middle[doc.warc.offset + doc.warc.length // 2] ^= 0x55
    path.write_bytes(middle)
    shown = ws.cli("archive", "show", doc.id)
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    line = shown.stderr.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith(("pesquisa: error: [E609]", "pesquisa: error: [E610]")), line
    with TestClient(create_app(ws.settings()), raise_server_exceptions=False) as client:
        got = client.get(f"/api/documents/{doc.id}/archive")
        assert got.status_code == 500 and got.json()["error"]["code"] in ("E609", "E610")
        assert "copia archivada" in client.get(f"/documento/{doc.id}").text  # page still up
    # The file intact but the store's digest altered: the copy no longer proves anything.
    path.write_bytes(pristine)
    db = sqlite3.connect(data / "pesquisa.db")
    with db:
        db.execute("UPDATE documents SET warc_digest = ? WHERE id = ?",
                   ("sha256:" + "0" * 64, doc.id))
    shown = ws.cli("archive", "show", doc.id)
    assert shown.returncode == 1 and "[E610]" in shown.stderr and "Traceback" not in shown.stderr
    path.unlink()
    shown = ws.cli("archive", "show", doc.id)
    assert shown.returncode == 1
    assert shown.stderr.strip() == (
        f"pesquisa: error: [E608] the archived copy of document {doc.id} is missing: "
        f"{doc.warc.file}")


# -- a server that redirects, compresses, chunks, fails and logs every hit ------------------


def article(title: str) -> bytes:
    return (
        f'<!doctype html><html lang="es"><head><title>{title} | Diario Archivo</title>'
        '<meta property="article:published_time" content="2026-10-05T10:00:00-05:00"></head>'
        f"<body><article><h1>{title}</h1><p>La Fiscalía anticorrupción de Lima informó que la "
        "investigación continúa y que se solicitarán nuevas diligencias en los próximos días, "
        "según fuentes del Ministerio Público.</p><p>El caso fue derivado a la Sala Penal, que "
        "evaluará el pedido de prisión preventiva presentado contra los investigados por "
        f"presunta colusión agravada en {title.lower()}.</p></article></body></html>"
    ).encode()


PAGES = {
    "/nota-movida": "Nota movida de dirección",
    "/comprimida": "Nota comprimida con gzip",
    "/troceada": "Nota enviada en trozos",
}
GZIPPED = gzip.compress(article(PAGES["/comprimida"]), mtime=0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HitServer

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        base = f"http://{self.headers['Host']}"
        if self.path == "/robots.txt":
            self.send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        elif self.path == "/feed.xml":
            links = ["/viejo", "/comprimida", "/troceada", "/no-existe", "/sin-cambios",
                     "/error"]
            items = "".join(f"<item><title>t</title><link>{base}{p}</link></item>" for p in links)
            self.send(200, f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
                      f"{items}</channel></rss>".encode(), "application/rss+xml")
        elif self.path == "/viejo":
            self.send(301, b"", "text/html", [("Location", f"{base}/nota-movida")])
        elif self.path == "/nota-movida":
            self.send(200, article(PAGES[self.path]), "text/html; charset=utf-8")
        elif self.path == "/comprimida":
            self.send(200, GZIPPED, "text/html; charset=utf-8", [("Content-Encoding", "gzip")])
        elif self.path == "/troceada":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            body = article(PAGES[self.path])
            for start in range(0, len(body), 300):
                piece = body[start:start + 300]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/sin-cambios":
            self.send_response(304)
            self.end_headers()
        elif self.path == "/error":
            self.send(500, b"<h1>Error interno</h1>", "text/html")
        else:
            self.send(404, b"<h1>No existe</h1>", "text/html")

    def send(self, status: int, body: bytes, kind: str,
             headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers or []:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class HitServer(ThreadingHTTPServer):
    hits: list[str]


@dataclass
class Served:
    base_url: str
    hits: list[str]


@pytest.fixture
def hit_server() -> Iterator[Served]:
    server = HitServer(("127.0.0.1", 0), Handler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}", server.hits)
    finally:
        server.shutdown()
        server.server_close()


def crawl_hit_server(ws: Workspace, served: Served, **env: str) -> None:
    write_source({"id": "archivo", "name": "Archivo", "kind": "feed",
                  "urls": [f"{served.base_url}/feed.xml"], "schedule": "*/30 * * * *"},
                 ws.sources_dir)
    ws.env.update({"PESQUISA_CRAWL__RETRY_BACKOFF": "0", **env})
    ws.cli("crawl", "archivo")  # failures (404, 500, 304) make no exit code of their own


@pytest.mark.slow
def test_redirect_hops_retries_errors_gzip_and_chunks_are_all_archived(
    workspace: Workspace, hit_server: Served
) -> None:
    crawl_hit_server(workspace, hit_server, PESQUISA_CRAWL__WARC_MAX_BYTES="3000")
    files = warc_files(workspace.data_dir, "archivo")
    assert len(files) > 2  # rotated past 3000 bytes, every file a valid WARC of its own
    found = [r for path in files for r in records(path)]
    assert all(records(path)[0]["type"] == "warcinfo" for path in files)
    responses = [r for r in found if r["type"] == "response"]
    # Exactly what the server answered: robots.txt, the feed, both redirect hops, the 500
    # and its retry, the 404 and the 304.
    assert sorted(urlsplit(r["uri"]).path for r in responses) == sorted(hit_server.hits)
    assert hit_server.hits.count("/error") == 2
    by_path = {urlsplit(r["uri"]).path: r for r in responses}
    assert by_path["/viejo"]["status"] == "301" and by_path["/sin-cambios"]["status"] == "304"
    assert by_path["/no-existe"]["status"] == "404"
    assert fetched_per_source(workspace.data_dir)["archivo"] == len(responses)

    docs = {urlsplit(d.url).path: d for d in documents(workspace.data_dir)}
    assert set(docs) == set(PAGES)
    moved = docs["/nota-movida"]  # the final hop's record, not the redirect's
    assert moved.warc is not None
    assert urlsplit(record_at(workspace.data_dir, moved)["uri"]).path == "/nota-movida"
    packed = docs["/comprimida"]  # the payload as sent: still gzip, hashed as such
    assert packed.warc is not None and packed.warc.digest == sha256(GZIPPED)
    record = record_at(workspace.data_dir, packed)
    assert record["payload"] == GZIPPED and ("Content-Encoding", "gzip") in record["headers"]
    assert PAGES["/comprimida"] in read_archived(workspace.data_dir, packed).body.decode()
    chunked = docs["/troceada"]  # de-chunked on the way in: the record must not claim it
    record = record_at(workspace.data_dir, chunked)
    assert "transfer-encoding" not in [name.lower() for name, _ in record["headers"]]
    assert record["payload"] == article(PAGES["/troceada"])
    for path in files:
        check = subprocess.run([str(WARCIO), "check", str(path)], capture_output=True,
                               timeout=60)
        assert check.returncode == 0, check.stdout
    for doc in docs.values():
        assert doc.warc is not None
        assert read_archived(workspace.data_dir, doc).digest == doc.warc.digest


@pytest.mark.slow
def test_archiving_can_be_switched_off(workspace: Workspace, hit_server: Served) -> None:
    crawl_hit_server(workspace, hit_server, PESQUISA_CRAWL__WARC="false")
    assert not (workspace.data_dir / "warc").exists()
    docs = documents(workspace.data_dir)
    assert docs and all(doc.warc is None for doc in docs)
    shown = workspace.cli("archive", "show", docs[0].id)
    assert shown.returncode == 1
    assert "[E607] no archived copy of document" in shown.stderr


def test_writing_a_response_costs_milliseconds(tmp_path: Path, site: Site) -> None:
    """Hashing, gzip and the write of a 250 KB page: well under the 1 s between requests to
    a host (measured: about 10 ms on one core), and in the writer's thread, not the
    reactor's."""
    from scrapy import Spider
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler

    from crawlers.middlewares.warc import WarcArchive

    crawler = get_crawler(Spider, {"PESQUISA_WARC": True, "PESQUISA_DATA_DIR": str(tmp_path)})
    crawler.spider = Spider(name="medida")
    archive = WarcArchive.from_crawler(crawler)
    pages = sorted(path for path in site.root.rglob("*") if path.is_file())
    body = b"".join(path.read_bytes() for path in pages)[:250_000]  # real, varied markup
    assert len(body) == 250_000
    started = time.perf_counter()
    for n in range(20):
        request = Request(f"http://127.0.0.1/nota/{n}")
        response = HtmlResponse(request.url, body=body, request=request, protocol="HTTP/1.1",
                                headers={"Content-Type": "text/html; charset=utf-8"})
        pointer = archive.archive(request, response)
        assert pointer.digest == sha256(body)
    per_response = (time.perf_counter() - started) / 20
    archive.spider_closed()
    assert per_response < 0.05, f"{per_response * 1000:.1f} ms per response"
    assert len(records(warc_files(tmp_path, "medida")[0])) == 41  # warcinfo + 20 pairs
