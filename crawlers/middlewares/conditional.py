"""Conditional GET for feeds, sitemaps and listing/API pages: send the ETag and Last-Modified
last seen (If-None-Match / If-Modified-Since); a 304 means nothing new there.

Spiders mark such requests with the CONDITIONAL meta key (articles are not marked: the seen
store skips them without a request). A 304 is counted as `not_modified`, credits the start URL
it comes from, and is no failure. Validators from 200 responses are saved only when the spider
closes with reason "finished", and only for pages that led to no failure in the run (the page
itself, or anything it links to, directly or through other pages): a killed or partly failed
crawl must not make the next one skip items it never stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response

from crawlers.spiders.base import CONDITIONAL
from pesquisa.store import Store

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider


class NotModified(IgnoreRequest):
    """A 304: the page is as we last saw it (a success, not a failure)."""


class ConditionalGet:
    def __init__(self, crawler: Crawler, store_path: Path) -> None:
        self.crawler = crawler
        self.store_path = store_path
        self._store: Store | None = None
        self.fresh: dict[str, tuple[str | None, str | None]] = {}  # url -> new validators
        self.children: dict[str, set[str]] = {}  # conditional url -> urls it referred to

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGet:
        path = crawler.settings.get("PESQUISA_STORE_PATH")
        if not path:
            raise NotConfigured("PESQUISA_STORE_PATH is not set")
        middleware = cls(crawler, Path(path))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.store_path)
        return self._store

    def process_request(self, request: Request) -> None:
        referer = (request.headers.get(b"Referer") or b"").decode("latin-1")
        if referer in self.fresh:
            self.children.setdefault(referer, set()).add(request.url)
        if not request.meta.get(CONDITIONAL):
            return
        # a redirect hop inherits the previous hop's headers: use this URL's own validators
        etag, modified = self.store.validators(request.url)
        for header, value in ((b"If-None-Match", etag), (b"If-Modified-Since", modified)):
            if value:
                request.headers[header] = value.encode("latin-1")
            else:
                request.headers.pop(header, None)

    def process_response(self, request: Request, response: Response) -> Response:
        if not request.meta.get(CONDITIONAL):
            return response
        if response.status == 304:
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("pesquisa/not_modified")
            start_worked = getattr(self.crawler.spider, "start_worked", None)
            if start_worked is not None:  # the response is tied to its request only later
                start_worked(response.replace(request=request))
            raise NotModified(f"not modified since last crawl: {request.url}")
        if response.status == 200:
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            if etag or modified:
                self.fresh[request.url] = (
                    etag.decode("latin-1") if etag else None,
                    modified.decode("latin-1") if modified else None,
                )
        return response

    def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            if reason == "finished" and self.fresh:
                self._save(spider)
        finally:
            if self._store is not None:
                self._store.close()

    def _save(self, spider: Spider) -> None:
        run_id = self.crawler.stats.get_value("pesquisa/run_id") if self.crawler.stats else None
        failed = {row["url"] for row in self.store.failures(int(run_id))} if run_id else set()
        # A failure anywhere below a page counts: an index's page 2, a sitemap index's child
        # sitemap, and the articles they link to.
        grew = True
        while grew:
            grew = False
            for url, children in self.children.items():
                if url not in failed and children & failed:
                    failed.add(url)
                    grew = True
        for url, (etag, modified) in self.fresh.items():
            if url in failed:
                spider.logger.info("validators of %s not kept: it led to failures", url)
                continue
            self.store.save_validators(url, etag, modified)
