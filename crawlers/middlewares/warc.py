"""Archive every fetched response, with its request, in WARC files: the crawl's evidence.

Placed next to the downloader (priority 950), so it sees each response as it came off the
wire: every redirect hop, every retried error, robots.txt, feeds, 304s, and bodies still
content-encoded (size_limit.LimitedDecompression decodes them after us). Each record is its
own gzip member, so a document's pointer (file, offset, length) can be read back with one seek.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import zlib
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from crawlers.spiders.base import WARC
from pesquisa import __version__
from pesquisa.archive import sha256_digest
from pesquisa.store import WarcPointer

log = logging.getLogger(__name__)

GZIP_LEVEL = 6  # zlib's default; on news HTML, warcio's 9 saves 0.1% for 10% more time


class _Sha256(Digester):
    """warcio writes `sha1:<base32>`; we label digests `sha256:<hex>`, which its reader
    (and `warcio check`) verify too."""

    def __init__(self) -> None:
        super().__init__("sha256")

    def __str__(self) -> str:
        return f"sha256:{self.digester.hexdigest()}"


class _RawHeaders(StatusAndHeaders):
    """Header bytes as received: warcio would %-encode any non-ASCII value."""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_bytes(encoding="latin-1")


class _Writer(WARCWriter):
    @staticmethod
    def _create_digester() -> Digester:
        return _Sha256()


def _latin1(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _headers(headers: Any) -> list[tuple[str, str]]:
    """Scrapy's headers as (name, value) pairs, one per value, in the order received."""
    return [(_latin1(name), _latin1(value)) for name, values in headers.items()
            for value in values]


def response_headers(response: Response) -> StatusAndHeaders:
    """The status line and headers. Scrapy keeps neither the reason phrase (the standard one
    is written) nor the case of header names (it title-cases them); values are as received.
    The body reaches us de-chunked; Twisted drops Transfer-Encoding then, and should a
    handler keep it, it is renamed, for readers not to de-chunk the body a second time."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    pairs = [
        ("X-Pesquisa-Transfer-Encoding" if name.lower() == "transfer-encoding" else name, value)
        for name, value in _headers(response.headers)
    ]
    status = f"{response.status} {reason}".rstrip()
    return _RawHeaders(status, pairs, protocol=response.protocol or "HTTP/1.1")


def request_headers(request: Request) -> StatusAndHeaders:
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pairs = _headers(request.headers)
    if not any(name.lower() == "host" for name, _ in pairs):
        pairs.insert(0, ("Host", parts.netloc))
    return _RawHeaders(f"{request.method} {target}", pairs, protocol="HTTP/1.1",
                       is_http_request=True)


class WarcFile:
    """One WARC file being written: a warcinfo record first, then gzip members appended."""

    def __init__(self, data_dir: Path, source: str, info: dict[str, str]) -> None:
        folder = data_dir / "warc" / source
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.handle: IO[bytes] = self._create(folder, f"{stamp}-{os.getpid()}")
        self.path = Path(self.handle.name)
        self.relative = self.path.relative_to(data_dir).as_posix()
        self.size = 0
        self.writer = _Writer(None, gzip=False)
        try:
            self.append(self.writer.create_warcinfo_record(self.path.name, info))
        except OSError:
            self.abandon(0)
            raise

    @staticmethod
    def _create(folder: Path, stem: str) -> IO[bytes]:
        for n in range(1000):
            name = f"{stem}.warc.gz" if n == 0 else f"{stem}-{n}.warc.gz"
            try:
                return (folder / name).open("xb")  # never append to another writer's file
            except FileExistsError:
                continue
        raise FileExistsError(folder / f"{stem}.warc.gz")

    def append(self, record: Any) -> tuple[int, int]:
        """Write one record as a gzip member; return its offset and compressed length."""
        plain = io.BytesIO()
        self.writer.out = plain
        self.writer.write_record(record)
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        member = packer.compress(plain.getvalue()) + packer.flush()
        offset = self.size
        self.handle.write(member)
        self.handle.flush()
        self.size += len(member)
        return offset, len(member)

    def close(self) -> None:
        self.handle.close()

    def abandon(self, size: int) -> None:
        """After a failed write (a full disk): close, and cut the file back to `size`, the
        end of its last whole record, so that readers never meet a partial gzip member. A
        file left empty is removed."""
        with contextlib.suppress(OSError):  # flushing what is left fails again: it is cut
            self.handle.close()
        with contextlib.suppress(OSError):
            if size:
                os.truncate(self.path, size)
            else:
                self.path.unlink()


class WarcArchive:
    """A downloader middleware: a request and a response record per fetched response, and
    the response's WarcPointer in `request.meta[WARC]` (the final hop's wins, as the spider
    sees `response.meta`). One writer per crawler, so one file at a time per source."""

    def __init__(self, crawler: Crawler, data_dir: Path, max_bytes: int) -> None:
        self.crawler = crawler
        self.data_dir = data_dir
        self.max_bytes = max_bytes
        self.file: WarcFile | None = None
        self.pool: ThreadPool | None = None
        self.files = 0
        self.records = 0
        self.bytes = 0
        self.errors = 0
        self.seconds = 0.0  # spent hashing, compressing and writing, in the writer's thread
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchive:
        settings = crawler.settings
        if not settings.getbool("PESQUISA_WARC"):
            raise NotConfigured("WARC archiving is off (crawl.warc)")
        data_dir = settings.get("PESQUISA_DATA_DIR")
        if not data_dir:
            raise NotConfigured("PESQUISA_DATA_DIR is not set")
        return cls(crawler, Path(data_dir), settings.getint("PESQUISA_WARC_MAX_BYTES", 1024**3))

    async def process_response(self, request: Request, response: Response) -> Response:
        # Hashing and gzip run in the writer's own thread (both release the GIL): the reactor
        # keeps downloading meanwhile, and one thread keeps the records in order.
        from twisted.internet import reactor  # the one Scrapy installed; never at import

        if self.pool is None:
            self.pool = ThreadPool(minthreads=1, maxthreads=1, name="warc-writer")
            self.pool.start()
        pointer = await maybe_deferred_to_future(
            deferToThreadPool(reactor, self.pool, self._archive, request, response)
        )
        if pointer is None:
            request.meta.pop(WARC, None)  # a retry's copy must not point at an earlier hop
        else:
            request.meta[WARC] = pointer
        return response

    def _archive(self, request: Request, response: Response) -> WarcPointer | None:
        started = time.perf_counter()
        try:
            return self.archive(request, response)
        except OSError as exc:  # a full disk must not stop the crawl; the log says it loudly
            log.error("cannot archive %s in WARC: %s", response.url, exc)
            self.errors += 1
            self._close()  # its file was cut back to whole records: the next starts a new one
            return None
        finally:
            self.seconds += time.perf_counter() - started

    def archive(self, request: Request, response: Response) -> WarcPointer:
        warc = self._file()
        body = response.body
        digest = sha256_digest(body)
        date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        response_id = StatusAndHeadersParser.make_warc_id()
        fields = {"WARC-Date": date, "WARC-Record-ID": response_id,
                  "WARC-Payload-Digest": digest}
        if response.ip_address is not None:
            fields["WARC-IP-Address"] = str(response.ip_address)
        if "dataloss" in response.flags:
            fields["WARC-Truncated"] = "disconnect"
        record = warc.writer.create_warc_record(
            response.url, "response", payload=io.BytesIO(body), length=len(body),
            http_headers=response_headers(response), warc_headers_dict=fields,
        )
        asked = warc.writer.create_warc_record(
            request.url, "request", payload=io.BytesIO(request.body),
            length=len(request.body), http_headers=request_headers(request),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )
        start = warc.size
        try:
            warc.append(asked)
            offset, length = warc.append(record)
        except OSError:
            warc.abandon(start)  # neither record stays: a request without its response
            raise
        self.records += 1
        self.bytes += length
        return WarcPointer(warc.relative, offset, length, digest)

    def _file(self) -> WarcFile:
        if self.file is not None and self.file.size >= self.max_bytes:
            self._close()
        if self.file is None:
            spider = self.crawler.spider
            source = spider.name if spider is not None else "unknown"
            settings = self.crawler.settings
            self.file = WarcFile(self.data_dir, source, {
                "software": f"Pesquisa/{__version__} (warcio)",
                "format": "WARC File Format 1.0",
                "isPartOf": source,
                "http-header-user-agent": settings.get("USER_AGENT", ""),
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "description": "Every response fetched by a Pesquisa crawl of this source, "
                "with its request; payload digests are SHA-256 of the body as received.",
            })
            self.files += 1
        return self.file

    def _close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def spider_closed(self) -> None:
        if self.pool is not None:
            self.pool.stop()  # nothing is queued: every response was awaited before closing
            self.pool = None
        self._close()
        stats = self.crawler.stats
        stats.set_value("pesquisa/warc_records", self.records)
        stats.set_value("pesquisa/warc_bytes", self.bytes)
        stats.set_value("pesquisa/warc_errors", self.errors)
        stats.set_value("pesquisa/warc_seconds", round(self.seconds, 4))
        if self.records:
            log.info("WARC: %d responses in %d file(s), %.2f ms per response", self.records,
                     self.files, 1000 * self.seconds / self.records)
