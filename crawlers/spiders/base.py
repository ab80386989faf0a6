"""What every source spider shares: its source, its hosts, and article extraction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Request, Response, TextResponse

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
        self.skipped_seen = 0

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(Path(self.store_path))
        return self._store

    def closed(self, reason: str) -> None:
        if self._store is not None:
            self._store.close()

    def article_request(self, url: str, published: str | None = None) -> Request | None:
        """A request for an article, or None when the store has it already."""
        if self.store.has_document(document_id(url)):
            self.skipped_seen += 1
            self.crawler.stats.inc_value("pesquisa/seen")
            return None
        return Request(url, callback=self.parse_article, cb_kwargs={"published": published})

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
