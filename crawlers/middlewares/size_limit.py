"""Size limits: pages over PESQUISA_MAX_PAGE_BYTES and PDFs over PESQUISA_MAX_PDF_BYTES are
dropped as failures ("too large ..."), stopped as soon as we know: from Content-Length when the
headers arrive, else by counting the bytes as they come.

Scrapy's DOWNLOAD_MAXSIZE is one limit for everything; crawlers/settings.py sets it to the larger
of ours as a backstop, and this component applies the right one to each response.
`LimitedDecompression` (in place of Scrapy's HttpCompressionMiddleware) applies it again to a
compressed body as it is decompressed: 10 KB of gzip may hold gigabytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Request, Response
from scrapy.http.headers import Headers

from crawlers.middlewares.pdf_text import PDF_TYPES
from crawlers.middlewares.refused import Refused

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

TOO_LARGE = "pesquisa_too_large"  # request meta: why the download was stopped
RECEIVED = "pesquisa_bytes"  # request meta: body bytes received so far
LIMIT = "pesquisa_size_limit"  # request meta: (limit, "PDF" or "page"), once headers are in


def is_pdf(headers: Headers, url: str) -> bool:
    content_type = (headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    if content_type in PDF_TYPES:
        return True
    generic = content_type in (b"", b"application/octet-stream", b"binary/octet-stream")
    return generic and url.lower().split("?", 1)[0].endswith(".pdf")


class SizeLimit:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.max_page = settings.getint("PESQUISA_MAX_PAGE_BYTES")
        self.max_pdf = settings.getint("PESQUISA_MAX_PDF_BYTES")
        if not self.max_page or not self.max_pdf:
            raise NotConfigured("PESQUISA_MAX_PAGE_BYTES or PESQUISA_MAX_PDF_BYTES is not set")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SizeLimit:
        limit = cls(crawler)
        crawler.signals.connect(limit.headers_received, signal=signals.headers_received)
        crawler.signals.connect(limit.bytes_received, signal=signals.bytes_received)
        return limit

    def _stop(self, request: Request, size: int, limit: int, what: str) -> None:
        request.meta[TOO_LARGE] = f"too large: {what} of {size} bytes or more (limit {limit})"
        raise StopDownload(fail=True)

    def headers_received(
        self, headers: Headers, body_length: int, request: Request, **kwargs: Any
    ) -> None:
        pdf = is_pdf(headers, request.url)
        limit, what = (self.max_pdf, "PDF") if pdf else (self.max_page, "page")
        request.meta[LIMIT] = (limit, what)
        request.meta[RECEIVED] = 0
        # Twisted's unknown length is a marker string, not a number
        if isinstance(body_length, int) and body_length > limit:
            self._stop(request, body_length, limit, what)

    def bytes_received(self, data: bytes, request: Request, **kwargs: Any) -> None:
        received = request.meta.get(RECEIVED, 0) + len(data)
        request.meta[RECEIVED] = received
        limit, what = request.meta.get(LIMIT, (self.max_page, "page"))
        if received > limit:
            self._stop(request, received, limit, what)

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Turn our own stop into a failure the spider records with its reason."""
        if isinstance(exception, StopDownload) and request.meta.get(TOO_LARGE):
            raise Refused(request.meta[TOO_LARGE])


class LimitedDecompression(HttpCompressionMiddleware):
    """Scrapy's decompression, bounded by the response's own limit (a page's or a PDF's, as
    SizeLimit chose it from the headers) instead of DOWNLOAD_MAXSIZE; a body over it is a
    failure with its reason, where Scrapy's middleware drops it with a bare IgnoreRequest."""

    # without the `spider` argument Scrapy 2.19 deprecates (its base class still takes it)
    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        limit, what = request.meta.get(LIMIT, (None, "page"))
        if limit is None or not response.headers.getlist(b"Content-Encoding"):
            return super().process_response(request, response)
        asked = request.meta.get("download_maxsize")
        request.meta["download_maxsize"] = limit
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            raise Refused(
                f"too large: {what} of more than {limit} bytes once decompressed "
                f"({len(response.body)} bytes compressed)"
            ) from None
        finally:  # a retry or a redirect hop copies the meta: leave it as it was
            if asked is None:
                request.meta.pop("download_maxsize", None)
            else:
                request.meta["download_maxsize"] = asked
