"""What every source spider shares: its source, its hosts, failures, and article extraction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawlers.extract import extract
from crawlers.items import ArticleItem
from pesquisa.ids import canonical_url, document_id, strip_tracking
from pesquisa.sources import Source
from pesquisa.store import Store

START = "pesquisa_start"  # request meta flag: one of the source's own start URLs


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

    # -- requests and failures ---------------------------------------------------------------

    def start_requests_for(self, callback: Any) -> Iterator[Request]:
        for url in self.source.urls:
            yield self.request(url, callback, meta={START: True})

    def request(self, url: str, callback: Any, **kwargs: Any) -> Request:
        """Every request of ours: failures are counted and the last one kept for the run."""
        return Request(url, callback=callback, errback=self.failed, **kwargs)

    def failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(IgnoreRequest):  # skipped on purpose: robots.txt, another host
            self.crawler.stats.inc_value("pesquisa/ignored")
            self.logger.info("skipped %s: %s", url, failure.getErrorMessage())
            return
        reason = f"{type(failure.value).__name__}: {failure.getErrorMessage()}"
        self.note_failure(f"{reason} ({url})")

    def note_failure(self, reason: str) -> None:
        self.crawler.stats.inc_value("pesquisa/failures")
        self.crawler.stats.set_value("pesquisa/last_error", reason)
        self.logger.warning("failed: %s", reason)

    def start_worked(self, response: Response) -> None:
        """Count a start URL that gave a usable feed or sitemap. Those that did not (errors,
        off-site redirects, filtered requests, garbage) are the run's start failures."""
        if response.meta.get(START):
            self.crawler.stats.inc_value("pesquisa/start_ok")

    def start_failures(self) -> int:
        worked = int(self.crawler.stats.get_value("pesquisa/start_ok", 0))
        return max(len(self.source.urls) - worked, 0)

    def article_request(self, link: str, published: str | None = None) -> Request | None:
        """A request for an article, or None when the store already has what it leads to."""
        try:
            if self.store.knows(document_id(link)):
                self.crawler.stats.inc_value("pesquisa/skipped_seen")
                return None
            return self.request(
                link, self.parse_article, cb_kwargs={"published": published, "link": link}
            )
        except ValueError:  # a malformed link (bad port, broken IPv6 literal, no scheme)
            self.note_failure(f"malformed link: {link!r}")
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
        )
