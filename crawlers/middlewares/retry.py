"""Retries with exponential backoff and jitter, honouring Retry-After (replaces Scrapy's
RetryMiddleware, which retries at once and so hammers a host that is already struggling).

Retried: timeouts, connection errors, truncated bodies (RETRY_EXCEPTIONS) and the
RETRY_HTTP_CODES (408, 429, 5xx). The n-th retry waits PESQUISA_RETRY_BACKOFF * 2**(n-1)
seconds, at least Retry-After on 429/503, at most PESQUISA_RETRY_BACKOFF_MAX, plus up to 25%
jitter within that cap. The wait is an async sleep: the reactor keeps serving other requests.
When retries run out the response (an HTTP error) or the exception reaches the spider's errback.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

RETRY_AFTER_CODES = frozenset({429, 503})
JITTER = 0.25  # up to this fraction of the wait is added at random, so retries do not align


def retry_after(response: Response) -> float | None:
    """Seconds the server asks us to wait: `Retry-After: 120` or an HTTP date; None if absent
    or unreadable."""
    value = response.headers.get(b"Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_wait(settings: BaseSettings, retry_times: int, at_least: float = 0.0) -> float:
    """The wait before retry number `retry_times` (1 for the first), without jitter."""
    base = settings.getfloat("PESQUISA_RETRY_BACKOFF", 2.0)
    cap = settings.getfloat("PESQUISA_RETRY_BACKOFF_MAX", 120.0)
    return min(cap, max(base * 2 ** max(retry_times - 1, 0), at_least))


def backoff_delay(settings: BaseSettings, retry_times: int, at_least: float = 0.0) -> float:
    """The wait before retry number `retry_times` (1 for the first), with jitter."""
    cap = settings.getfloat("PESQUISA_RETRY_BACKOFF_MAX", 120.0)
    wait = backoff_wait(settings, retry_times, at_least)
    return min(cap, wait * (1 + random.uniform(0, JITTER)))


async def retry_later(
    crawler: Crawler, request: Request, reason: str | Exception, at_least: float = 0.0
) -> Request | None:
    """A copy of `request` to retry after the backoff wait (already waited), or None when its
    retries are used up (RETRY_TIMES, or the request's max_retry_times meta)."""
    assert crawler.spider is not None
    retry = get_retry_request(request, spider=crawler.spider, reason=reason)
    if retry is None:
        return None
    wait = backoff_delay(crawler.settings, int(retry.meta["retry_times"]), at_least)
    if crawler.stats is not None:
        crawler.stats.inc_value("pesquisa/retry_wait_ms", round(wait * 1000))
    await sleep(wait)
    return retry


class BackoffRetry:
    """Scrapy's RetryMiddleware, with a pause before each retry."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        self.crawler = crawler
        self.codes = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        self.exceptions = tuple(
            load_object(path) if isinstance(path, str) else path
            for path in settings.getlist("RETRY_EXCEPTIONS")
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetry:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.codes:
            return response
        wanted = retry_after(response) if response.status in RETRY_AFTER_CODES else None
        reason = response_status_message(response.status)
        retry = await retry_later(self.crawler, request, reason, wanted or 0.0)
        return retry or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions):
            return None
        return await retry_later(self.crawler, request, exception)
