"""What every source spider shares: its source, its hosts, failures, and article extraction."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.extract import extract, language_of, to_iso
from crawlers.items import ArticleItem
from crawlers.middlewares.pdf_text import PDF_TEXT, is_pdf_response
from crawlers.middlewares.refused import Refused
from crawlers.pdf import OCR_MAX_PAGES, OCR_MAX_SECONDS, PdfText, extract_pdf
from pesquisa.ids import canonical_url, document_id, strip_tracking
from pesquisa.sources import Source
from pesquisa.store import Store

START = "pesquisa_start"  # request meta: the start URL a feed or sitemap request comes from
# request meta: a feed, sitemap, listing or API page, fetched with conditional GET
# (crawlers/middlewares/conditional.py); never set it on articles
CONDITIONAL = "pesquisa_conditional"
WARC = "pesquisa_warc"  # response meta: the WarcPointer of the archived response
WEB_SCHEMES = ("http", "https")
# Download errors (after their retries) in words a journalist reads in `sources status`.
PLAIN_REASONS = {
    "DownloadTimeoutError": "timeout",
    "TimeoutError": "timeout",
    "ResponseDataLossError": "truncated response (data loss)",
    "DownloadConnectionRefusedError": "connection refused",
    "ConnectionRefusedError": "connection refused",
    "CannotResolveHostError": "host not found",
    "DNSLookupError": "host not found",
}
PDF_CONTENT_TYPE = "application/pdf"
# PDF metadata titles that name a file or a tool, not the document.
_JUNK_PDF_TITLE = re.compile(
    r"^(microsoft\s+\w+\s*-|untitled|sin\s+t[íi]tulo|documento\d*$)|\.(docx?|pdf|odt|xlsx?)$",
    re.IGNORECASE,
)


def pdf_title(hint: str | None, found: PdfText) -> str:
    """The linking page's title, else the PDF's metadata title, else its first line."""
    if hint and hint.strip():
        return " ".join(hint.split())
    if found.title and len(found.title) >= 4 and not _JUNK_PDF_TITLE.search(found.title):
        return found.title
    first = next((line.strip() for line in found.text.splitlines() if line.strip()), "")
    return first[:200]


def same_site_canonical(canonical: str | None, fetched: str) -> str | None:
    """A page's rel=canonical, when it is safe to trust: http(s), same host and port, and not
    the site's home page (which some sites name as canonical of every page)."""
    if not canonical:
        return None
    wanted, got = urlsplit(canonical), urlsplit(fetched)
    if wanted.scheme not in ("http", "https") or wanted.netloc.lower() != got.netloc.lower():
        return None
    return canonical if wanted.path.strip("/") else None


class SourceSpider(scrapy.Spider):
    """A spider built from one Source. Subclasses turn its URLs into article requests."""

    kind = ""

    def __init__(
        self, source: Source, store_path: str, since: date | None = None, **kwargs: Any
    ) -> None:
        super().__init__(name=source.id, **kwargs)
        self.source = source
        self.since = since  # backfill: reach back to this day where the source allows
        self.allowed_domains = list(source.hosts)
        self.store_path = store_path
        self._store: Store | None = None
        self.starts_reached: set[str] = set()
        # feed or sitemap URL -> the start URLs that lead to it. Several may: Scrapy fetches a
        # sitemap named twice only once, and both starts should get the credit.
        self.leads_from: dict[str, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.callback_crashed, signal=signals.spider_error)
        return spider

    def callback_crashed(self, failure: Failure, response: Response, spider: Any) -> None:
        """A bug of ours in a callback: the page's remaining items are lost, so it is a
        failure like any other (recorded with its URL, and the page's validators are not
        kept, so the next run reads it again). Scrapy logs the traceback to the log file."""
        if spider is self:
            name = type(failure.value).__name__
            self.note_failure(f"internal error: {name}: {failure.getErrorMessage()}", response.url)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(Path(self.store_path))
        return self._store

    def closed(self, reason: str) -> None:
        if self._store is not None:
            self._store.close()

    # -- requests and failures ---------------------------------------------------------------

    def start_requests_for(self, callback: Any) -> Iterator[Request]:
        for url in self.source.urls:
            self.leads_from.setdefault(url, set()).add(url)
            yield self.request(url, callback, meta={START: url, CONDITIONAL: True})

    def request(self, url: str, callback: Any, **kwargs: Any) -> Request:
        """Every request of ours: web URLs only; failures are counted, the last one kept.

        Raises ValueError for a link that is not http(s) (file:, data:, javascript: ...):
        a feed must never make us read local files or anything but the web.
        """
        if urlsplit(url).scheme.lower() not in WEB_SCHEMES:
            raise ValueError(f"not a web link: {url!r}")
        return Request(url, callback=callback, errback=self.failed, **kwargs)

    def failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if isinstance(failure.value, HttpError):  # a subclass of IgnoreRequest, but a failure
            self.note_failure(f"HTTP {failure.value.response.status}", url)
            return
        if isinstance(failure.value, Refused):  # private address, too large, soft block...
            self.note_failure(failure.value.reason, url)
            return
        if failure.check(IgnoreRequest):  # skipped on purpose: robots.txt, another host, 304
            self.crawler.stats.inc_value("pesquisa/ignored")
            self.logger.info("skipped %s: %s", url, failure.getErrorMessage())
            return
        name = type(failure.value).__name__
        plain = PLAIN_REASONS.get(name, name)
        message = failure.getErrorMessage().strip()
        self.note_failure(f"{plain}: {message}" if message else plain, url)

    def note_failure(self, reason: str, url: str = "") -> None:
        """Count a failure, keep it as the run's last error, and record it with its URL."""
        stats = self.crawler.stats
        stats.inc_value("pesquisa/failures")
        stats.set_value("pesquisa/last_error", f"{reason} ({url})" if url else reason)
        self.logger.warning("failed: %s %s", reason, url)
        run_id = stats.get_value("pesquisa/run_id")
        if run_id:
            self.store.record_failure(int(run_id), self.source.id, url or "-", reason)

    def start_worked(self, response: Response) -> None:
        """A start URL led to a list of articles (a parsed feed or a sitemap urlset, directly
        or through robots.txt and sitemap indexes). Start URLs that never do (errors, off-site
        redirects, empty robots.txt, dead index children, garbage) are start failures."""
        self.starts_reached |= self._starts_of(response)

    def _starts_of(self, response: Response) -> set[str]:
        urls = {response.url, *response.meta.get("redirect_urls", ())}
        if response.request is not None:
            urls.add(response.request.url)
        starts = {start for url in urls for start in self.leads_from.get(url, ())}
        if response.meta.get(START):
            starts.add(response.meta[START])
        return starts

    def absolute(self, response: Response, href: str) -> str | None:
        """`href` made absolute against the page, or None, a failure, when it is malformed
        ("http://[..."): one bad link must not stop the rest of a feed, sitemap or index."""
        try:
            return response.urljoin(href)
        except ValueError as exc:
            self.note_failure(f"bad link: {exc}", href)
            return None

    def follow(self, response: Response, url: str, callback: Any) -> Request:
        """A request for a feed or sitemap found in another (robots.txt, an index)."""
        request = self.request(
            url, callback, meta={START: response.meta.get(START), CONDITIONAL: True}
        )
        self.leads_from.setdefault(request.url, set()).update(self._starts_of(response))
        return request

    def start_failures(self) -> int:
        return len(set(self.source.urls) - self.starts_reached)

    def article_request(
        self, link: str, published: str | None = None, author: str | None = None
    ) -> Request | None:
        """A request for an article, or None when the store already has what it leads to.
        `published` and `author` are what the feed or sitemap says (hints)."""
        try:
            if self.store.knows(document_id(link)):
                self.crawler.stats.inc_value("pesquisa/skipped_seen")
                return None
            return self.request(
                link,
                self.parse_article,
                cb_kwargs={"published": published, "link": link, "author": author},
            )
        except ValueError as exc:  # malformed (bad port, no scheme) or not a web link
            self.note_failure(f"bad link: {exc}", link)
            return None

    # -- articles ----------------------------------------------------------------------------

    def parse_article(
        self,
        response: Response,
        published: str | None = None,
        link: str | None = None,
        author: str | None = None,
        title: str | None = None,
    ) -> Iterator[Any]:
        """The article (HTML) or document (PDF) in `response`. `published`, `author` and
        `title` are hints from the feed, sitemap or listing that linked to it."""
        if is_pdf_response(response):
            yield from self.parse_pdf(response, published, link, title)
            return
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("pesquisa/not_text")
            return
        found = extract(
            response.text,
            response.url,
            published_hint=published,
            author_hint=author,
            expected_language=self.source.language,
        )
        if found is None:
            self.crawler.stats.inc_value("pesquisa/no_article")
            self.logger.info("no article text in %s", response.url)
            return
        url = same_site_canonical(found.canonical_url, response.url) or strip_tracking(
            response.url
        )
        yield ArticleItem(
            source=self.source.id,
            url=url,
            canonical_url=canonical_url(url),
            link=link or response.url,
            title=found.title,
            text=found.text,
            published=found.published,
            language=found.language or self.source.language,
            author=found.author,
            section=found.section,
            language_flagged=found.language_flagged,
            warc=response.meta.get(WARC),
        )

    def parse_pdf(
        self,
        response: Response,
        published: str | None = None,
        link: str | None = None,
        title: str | None = None,
    ) -> Iterator[Any]:
        """A PDF: its text layer, or OCR (crawl.ocr) when it has none, bounded by
        crawl.ocr_max_pages and crawl.ocr_max_seconds. In a crawl the text was extracted in a
        worker thread as the response arrived (crawlers/middlewares/pdf_text.py); without that
        middleware (replayed fixtures) it is extracted here."""
        if PDF_TEXT in response.meta:
            found = response.meta[PDF_TEXT]
        else:
            settings = self.crawler.settings
            found = extract_pdf(
                response.body,
                ocr=settings.getbool("PESQUISA_OCR", True),
                max_ocr_pages=settings.getint("PESQUISA_OCR_MAX_PAGES", OCR_MAX_PAGES),
                max_ocr_seconds=settings.getfloat("PESQUISA_OCR_MAX_SECONDS", OCR_MAX_SECONDS),
            )
        if found is None:
            self.note_failure("unreadable PDF", response.url)
            return
        if not found.text.strip():
            self.note_failure("PDF without text", response.url)
            return
        if found.ocr_used:
            self.crawler.stats.inc_value("pesquisa/ocr")
        url = strip_tracking(response.url)
        expected = self.source.language
        language = language_of(found.text, expected)
        yield ArticleItem(
            source=self.source.id,
            url=url,
            canonical_url=canonical_url(url),
            link=link or response.url,
            title=pdf_title(title, found),
            text=found.text,
            published=to_iso(published) or found.created,
            language=language,
            author=None,
            content_type=PDF_CONTENT_TYPE,
            language_flagged=bool(expected and language and language != expected),
            extra={"pages": found.pages, "ocr": found.ocr_used},
            warc=response.meta.get(WARC),
        )
