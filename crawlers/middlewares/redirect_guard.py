"""Redirect loops and endless redirect chains as failures with their reason.

Scrapy drops a loop silently (the dupefilter discards the second visit of a URL) and raises
a bare IgnoreRequest after REDIRECT_MAX_TIMES hops; both would leave no trace of a page that a
feed links to. Placed just before RedirectMiddleware, this sees each 3xx first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin

from scrapy.http import Request, Response
from w3lib.url import safe_url_string

from crawlers.middlewares.refused import Refused

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


def _plain(url: str) -> str:
    return urldefrag(safe_url_string(url))[0]


class RedirectGuard:
    def __init__(self, max_hops: int) -> None:
        self.max_hops = max_hops

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuard:
        return cls(crawler.settings.getint("REDIRECT_MAX_TIMES", 20))

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in REDIRECT_CODES or not location or request.meta.get(
            "dont_redirect"
        ):
            return response
        target = _plain(urljoin(request.url, location.decode("latin-1").strip()))
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        if target in {_plain(url) for url in chain}:
            raise Refused(f"redirect loop: {' -> '.join([*chain, target])}")
        if len(chain) > self.max_hops:
            raise Refused(f"too many redirects ({len(chain)}) from {chain[0]}")
        return response
