"""PDF text off the crawl's thread: reading a PDF, and above all OCR of a scanned one, takes
seconds, and done in a spider callback it would stall every download in flight (they would
time out together). This middleware extracts the text in a worker thread as the response
arrives and hands it to `SourceSpider.parse_pdf` through the request meta.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.http import Request, Response
from scrapy.utils.asyncio import run_in_thread

from crawlers.pdf import OCR_MAX_PAGES, OCR_MAX_SECONDS, extract_pdf

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

PDF_TEXT = "pesquisa_pdf_text"  # request meta: the PdfText (or None: unreadable) of a response
PDF_TYPES = (b"application/pdf", b"application/x-pdf")


def is_pdf_response(response: Response) -> bool:
    """Served as a PDF, or a PDF whatever its Content-Type says (the %PDF- magic)."""
    kind = (response.headers.get("Content-Type") or b"").split(b";")[0].strip().lower()
    return kind in PDF_TYPES or response.body[:5] == b"%PDF-"


class PdfTextInThread:
    def __init__(self, ocr: bool, max_pages: int, max_seconds: float) -> None:
        self.ocr = ocr
        self.max_pages = max_pages
        self.max_seconds = max_seconds

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PdfTextInThread:
        settings = crawler.settings
        return cls(
            settings.getbool("PESQUISA_OCR", True),
            settings.getint("PESQUISA_OCR_MAX_PAGES", OCR_MAX_PAGES),
            settings.getfloat("PESQUISA_OCR_MAX_SECONDS", OCR_MAX_SECONDS),
        )

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status != 200 or not is_pdf_response(response):
            return response
        request.meta[PDF_TEXT] = await run_in_thread(
            extract_pdf, response.body, ocr=self.ocr, max_ocr_pages=self.max_pages,
            max_ocr_seconds=self.max_seconds,
        )
        return response
