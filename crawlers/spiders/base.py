"""What every source spider shares: its source, its hosts, failures, and article extraction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.extract import extract
from crawlers.items import ArticleItem
from pesquisa.ids import canonical_url, document_id, strip_tracking
from pesquisa.sources import Source
from pesquisa.store import Store

START = "pesquisa_start"  # request meta: the start URL a feed or sitemap request comes from
WARC = "pesquisa_warc"  # response meta: the WarcPointer of the archived response
WEB_SCHEMES = ("http", "https")


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
            yield self.request(url, callback, meta={START: url})

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
        if failure.check(IgnoreRequest):  # skipped on purpose: robots.txt, another host
            self.crawler.stats.inc_value("pesquisa/ignored")
            self.logger.info("skipped %s: %s", url, failure.getErrorMessage())
            return
        reason = f"{type(failure.value).__name__}: {failure.getErrorMessage()}"
        self.note_failure(reason, url)

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

    def follow(self, response: Response, url: str, callback: Any) -> Request:
        """A request for a feed or sitemap found in another (robots.txt, an index)."""
        request = self.request(url, callback, meta={START: response.meta.get(START)})
        self.leads_from.setdefault(request.url, set()).update(self._starts_of(response))
        return request

    def start_failures(self) -> int:
        return len(set(self.source.urls) - self.starts_reached)

    def article_request(self, link: str, published: str | None = None) -> Request | None:
        """A request for an article, or None when the store already has what it leads to."""
        try:
            if self.store.knows(document_id(link)):
                self.crawler.stats.inc_value("pesquisa/skipped_seen")
                return None
            return self.request(
                link, self.parse_article, cb_kwargs={"published": published, "link": link}
            )
        except ValueError as exc:  # malformed (bad port, no scheme) or not a web link
            self.note_failure(f"bad link: {exc}", link)
            return None

    # -- articles ----------------------------------------------------------------------------

    def parse_article(
        self, response: Response, published: str | None = None, link: str | None = None
    ) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("pesquisa/not_text")
            return
        found = extract(response.text, response.url, published_hint=published)
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
            warc=response.meta.get(WARC),
        )
