"""The exception our middlewares raise for a request refused, or a response dropped, on purpose
but still a failure of the crawl, recorded with its reason (SourceSpider.failed). A 304 is
no failure: conditional.py raises NotModified, an IgnoreRequest the spider skips."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class Refused(IgnoreRequest):
    """Raised with a reason a journalist can read: "private address ...", "too large ...",
    "soft block (empty 200 page)", "redirect loop ...". Unlike a plain IgnoreRequest (robots.txt,
    another host: skipped on purpose), it is recorded in crawl_failures."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason
