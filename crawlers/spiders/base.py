"""What every source spider shares: its source, its hosts, and article extraction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawlers.extract import extract
from crawlers.items import ArticleItem
from pesquisa.ids import canonical_url, document_id, strip_tracking
from pesquisa.sources import Source
from pesquisa.store import Store


class SourceSpider(scrapy.Spider):
    """A spider built from one Source. Subclasses turn its URLs into article requests."""

    kind = ""

    def __init__(self, source: Source, store_path: str, **kwargs: Any) -> None:
        super().__init__(name=source.id, **kwargs)
        self.source = source
        self.allowed_domains = list(source.hosts)
        self.store_path = store_path
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(Path(self.store_path))
        return self._store

    def closed(self, reason: str) -> None:
        if self._store is not None:
            self._store.close()

    def request(self, url: str, callback: Any, **kwargs: Any) -> Request:
        """Every request of ours: failures are counted and the last one kept for the run."""
        return Request(url, callback=callback, errback=self.failed, **kwargs)

    def failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        reason = f"{type(failure.value).__name__}: {failure.getErrorMessage()}"
        self.crawler.stats.inc_value("pesquisa/failures")
        self.crawler.stats.set_value("pesquisa/last_error", f"{reason} ({request and request.url})")
        self.logger.warning("failed %s: %s", request and request.url, reason)

    def article_request(self, url: str, published: str | None = None) -> Request | None:
        """A request for an article, or None when the store has it already."""
        if self.store.has_document(document_id(url)):
            self.crawler.stats.inc_value("pesquisa/seen")
            return None
        return self.request(url, self.parse_article, cb_kwargs={"published": published})

    def parse_article(self, response: Response, published: str | None = None) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("pesquisa/not_text")
            return
        found = extract(response.text, response.url, published_hint=published)
        if found is None:
            self.crawler.stats.inc_value("pesquisa/no_article")
            self.logger.info("no article text in %s", response.url)
            return
        url = strip_tracking(response.url)
        # A page may name its canonical URL, but only on its own host.
        if found.canonical_url and urlsplit(found.canonical_url).hostname == urlsplit(
            response.url
        ).hostname:
            url = found.canonical_url
        yield ArticleItem(
            source=self.source.id,
            url=url,
            canonical_url=canonical_url(url),
            title=found.title,
            text=found.text,
            published=found.published,
            language=found.language or self.source.language,
            author=found.author,
        )
