"""Review of the user-facing edges: WARC writing on a full disk, damaged or unusual archived
records through `archive show`, the API and the document page, and source health flags."""

from __future__ import annotations

import gzip
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from scrapy import Spider
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from crawlers.middlewares.warc import WarcArchive
from pesquisa.archive import capture_date, read_archived
from pesquisa.errors import PesquisaError
from pesquisa.settings import Settings, load_settings
from pesquisa.sources import load_sources, write_source
from pesquisa.store import NewDocument, RunCounts, Store, WarcPointer
from pesquisa.web.app import create_app
from pesquisa.web.strings import UI
from tests.conftest import REPO

URL = "https://diario.example/nota-1"


def warc_archive(data_dir: Path) -> WarcArchive:
    crawler = get_crawler(Spider, {"PESQUISA_WARC": True, "PESQUISA_DATA_DIR": str(data_dir)})
    archive: WarcArchive = WarcArchive.from_crawler(crawler)
    return archive


def fetched(url: str, body: bytes, **headers: str | bytes) -> tuple[Request, Response]:
    return Request(url), Response(url, body=body, headers={"Content-Type": "text/html",
                                                           **headers})


def save(data_dir: Path, doc_id: str, pointer: WarcPointer) -> None:
    with Store(data_dir / "pesquisa.db") as store:
        store.save_document(NewDocument(url=URL, canonical_url=URL, id=doc_id, source="diario",
                                        title="Nota", text="Texto de la nota.", warc=pointer))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    folder = tmp_path / "sources"
    for source_id, enabled in (("roto", True), ("apagado", False)):
        write_source({"id": source_id, "name": f"Diario {source_id}", "kind": "feed",
                      "enabled": enabled, "schedule": "*/30 * * * *",
                      "urls": [f"https://{source_id}.example/feed.xml"]}, folder)
    return load_settings(overrides={"data_dir": tmp_path / "data", "sources": folder},
                         environ={})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESQUISA_")}
    env.update(PESQUISA_DATA_DIR=str(settings.data_dir), PESQUISA_SOURCES=str(settings.sources))
    return subprocess.run([sys.executable, "-m", "pesquisa", *args], env=env, cwd=REPO,
                          capture_output=True, timeout=60)


# -- WARC: a full disk ---------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_a_failed_warc_write_is_cut_back_and_archiving_resumes(tmp_path: Path) -> None:
    """A write that fails half-way (disk full; here the file size limit, EFBIG) must not
    leave a partial record that readers of the file meet, and later responses are archived."""
    archive = warc_archive(tmp_path)
    first = archive._archive(*fetched(URL, b"<p>uno</p>"))
    assert archive.file is not None and first is not None
    limit = archive.file.size + 64 * 1024  # other files this test process writes stay below
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        lost = archive._archive(*fetched(URL + "-grande", os.urandom(256 * 1024)))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert lost is None and archive.errors == 1
    after = archive._archive(*fetched(URL + "-2", b"<p>dos</p>"))
    assert after is not None
    archive.spider_closed()

    files = sorted(tmp_path.glob("warc/*/*.warc.gz"))
    assert len(files) == 2
    for path in files:
        gzip.decompress(path.read_bytes())  # no truncated gzip member at the end
    with (tmp_path / first.file).open("rb") as handle:
        kinds = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                 for r in ArchiveIterator(handle, check_digests="raise")]
    # the failed pair is gone entirely: no request record without its response
    assert kinds == [("warcinfo", None), ("request", URL), ("response", URL)]
    check = subprocess.run([Path(sys.executable).with_name("warcio"), "check", *files],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_a_warc_file_that_cannot_start_leaves_nothing_behind(tmp_path: Path) -> None:
    """No room even for the warcinfo record: each response is an error, and no partial
    file is left per attempt."""
    archive = warc_archive(tmp_path)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
    try:
        pointers = [archive._archive(*fetched(f"{URL}-{n}", b"<p>hola</p>")) for n in range(3)]
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    archive.spider_closed()
    assert pointers == [None, None, None] and archive.errors == 3
    assert list(tmp_path.glob("warc/*/*")) == []


# -- damaged and unusual archived records at the edges -------------------------------------


def test_a_record_warcio_cannot_parse_is_a_coded_error_everywhere(
    settings: Settings, client: TestClient
) -> None:
    """A gzip member that decompresses to a response record without WARC-Target-URI (a
    hand-edited or damaged file): warcio raises AttributeError on it."""
    data_dir = settings.data_dir
    member = gzip.compress(
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2026-11-02T10:00:00Z\r\n"
        b"Content-Type: application/http; msgtype=response\r\nContent-Length: 42\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nhola\r\n\r\n"
    )
    (data_dir / "warc" / "diario").mkdir(parents=True)
    (data_dir / "warc" / "diario" / "roto.warc.gz").write_bytes(member)
    pointer = WarcPointer("warc/diario/roto.warc.gz", 0, len(member), "sha256:" + "0" * 64)
    save(data_dir, "doc-roto", pointer)
    with Store(settings.store_path, read_only=True) as store:
        doc = store.get("doc-roto")

    with pytest.raises(PesquisaError) as raised:
        read_archived(data_dir, doc)
    assert raised.value.code == "E609"
    assert capture_date(data_dir, pointer) is None

    got = client.get("/api/documents/doc-roto/archive")
    assert got.status_code == 500 and got.json()["error"]["code"] == "E609"
    meta = client.get("/api/documents/doc-roto")
    assert meta.status_code == 200 and meta.json()["archive"]["captured"] is None
    page = client.get("/documento/doc-roto")
    assert page.status_code == 200 and UI["archived"] in page.text

    shown = cli(settings, "archive", "show", "doc-roto")
    lines = shown.stderr.decode().strip().splitlines()
    assert shown.returncode == 1 and len(lines) == 1, shown.stderr
    assert lines[0].startswith("pesquisa: error: [E609]")


def test_archive_show_prints_headers_beyond_latin_1(settings: Settings) -> None:
    """gob.pe names PDFs in UTF-8 in Content-Disposition; an en dash is not latin-1."""
    filename = 'inline; filename="Resolución – 2026.pdf"'
    archive = warc_archive(settings.data_dir)
    headers: dict[str, str | bytes] = {"Content-Type": "application/pdf",
                                       "Content-Disposition": filename.encode()}
    pointer = archive._archive(*fetched(URL + ".pdf", b"%PDF-1.4 hola", **headers))
    archive.spider_closed()
    assert pointer is not None
    save(settings.data_dir, "doc-pdf", pointer)

    shown = cli(settings, "archive", "show", "--headers", "doc-pdf")
    assert shown.returncode == 0, shown.stderr
    assert f"Content-Disposition: {filename}".encode() in shown.stdout
    whole = cli(settings, "archive", "show", "doc-pdf")
    assert whole.returncode == 0 and whole.stdout.endswith(b"\r\n\r\n%PDF-1.4 hola")


# -- source health -------------------------------------------------------------------------


def test_a_disabled_source_is_not_flagged(settings: Settings, client: TestClient) -> None:
    """Disabling a dead source is how a maintainer silences it: the banner, the status
    table and the API stop calling it failing; its streak stays on record."""
    dead = RunCounts(failures=1, start_failures=1, last_error="ConnectionRefusedError")
    with Store(settings.store_path) as store:
        for source in ("roto", "apagado"):
            for _ in range(3):
                store.finish_run(store.start_run(source), dead)
    report = {h["source"]: h for h in client.get("/api/sources").json()}
    assert report["roto"]["flagged"] and not report["apagado"]["flagged"]
    assert report["apagado"]["streak"] == 3 and not report["apagado"]["enabled"]
    banner = client.get("/").text
    assert UI["sources_banner_one"].format(threshold=3, names="Diario roto") in banner
    page = client.get("/fuentes").text
    assert 'id="fuente-apagado"' in page and 'flagged" id="fuente-apagado"' not in page
    status = cli(settings, "sources", "status").stdout.decode()
    assert "! roto" in status and "! apagado" not in status and "  apagado" in status
    assert status.strip().splitlines()[-1].endswith("runs in a row: roto")
    assert len(load_sources(settings.sources)) == 2


def test_a_broken_sources_folder_is_not_called_a_bad_search(
    settings: Settings, client: TestClient
) -> None:
    """/fuentes with a source file that does not parse: one coded error, titled as what it
    is, not as "the search is not valid"; search itself stays up."""
    (settings.sources / "roto.yml").write_text("id: [", encoding="utf-8")
    page = client.get("/fuentes")
    assert "[E202]" in page.text and "Traceback" not in page.text
    assert UI["error_title"] in page.text and UI["error_query"] not in page.text
    api = client.get("/api/sources")
    assert api.json()["error"]["code"] == "E202"
    assert client.get("/").status_code == 200
