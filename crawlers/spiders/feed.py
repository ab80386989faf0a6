"""`feed` sources: RSS or Atom feeds, parsed with feedparser; each entry's link is fetched."""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from scrapy.http import Response

from crawlers.extract import to_iso
from crawlers.spiders.base import SourceSpider


def _entry_date(entry: Any) -> str | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return to_iso(datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC))
    return None


class FeedSpider(SourceSpider):
    kind = "feed"

    async def start(self) -> AsyncIterator[Any]:
        for request in self.start_requests_for(self.parse_feed):
            yield request

    def parse_feed(self, response: Response) -> Iterator[Any]:
        parsed = feedparser.parse(response.body, response_headers={
            "content-location": response.url,
            "content-type": (response.headers.get("Content-Type") or b"").decode("latin-1"),
        })
        if not parsed.entries and (parsed.bozo or not parsed.version):  # an empty feed is fine
            problem = parsed.get("bozo_exception")
            reason = "not a feed" + (f" ({problem})" if problem else "")
            self.note_failure(reason, response.url)
            return
        self.start_worked(response)
        for entry in parsed.entries:
            link = entry.get("link")
            url = self.absolute(response, link.strip()) if link else None
            if not url:
                continue
            author = entry.get("author")  # dc:creator, or the entry's author name
            request = self.article_request(
                url,
                _entry_date(entry),
                author=author.strip() if isinstance(author, str) and author.strip() else None,
            )
            if request is not None:
                yield request
