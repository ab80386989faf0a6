"""Run the spiders of some sources in this process (a fresh one: Twisted cannot restart)."""

from __future__ import annotations

import logging
from datetime import date

from scrapy.crawler import CrawlerProcess

from crawlers.settings import scrapy_settings
from crawlers.spiders.api import ApiSpider
from crawlers.spiders.base import SourceSpider
from crawlers.spiders.bulletin import BulletinSpider
from crawlers.spiders.feed import FeedSpider
from crawlers.spiders.listing import ListingSpider
from crawlers.spiders.sitemap import SitemapSpider
from pesquisa.health import warn_failing
from pesquisa.settings import Settings
from pesquisa.sources import Source
from pesquisa.store import Store

SPIDERS: dict[str, type[SourceSpider]] = {
    "feed": FeedSpider,
    "sitemap": SitemapSpider,
    "listing": ListingSpider,
    "bulletin": BulletinSpider,
    "api": ApiSpider,
}
NO_PAST = ("feed", "sitemap")  # they list what is recent: --since cannot page back
log = logging.getLogger(__name__)


def crawl(
    settings: Settings, sources: list[Source], since: date | None = None
) -> dict[str, dict[str, int | str | None]]:
    """Crawl the sources concurrently; return each one's run counts from the store.

    `since`: listing, bulletin and api sources reach back to this day (feeds and sitemaps
    have no older pages to reach)."""
    runnable = [s for s in sources if s.kind in SPIDERS]
    for source in sources:
        if source.kind not in SPIDERS:
            log.warning("source %s: kind %r cannot be crawled yet; skipped", source.id, source.kind)
        elif since and source.kind in NO_PAST:
            log.warning("source %s: a %s has no older pages to reach; --since ignored",
                        source.id, source.kind)
    # create and migrate before spiders open it (an older store is clustered at the threshold)
    Store(settings.store_path,
          near_duplicate_threshold=settings.crawl.near_duplicate_threshold).close()
    process = CrawlerProcess({**scrapy_settings(settings), "LOG_INSTALL_ROOT_HANDLER": False})
    crawlers = {}
    for source in runnable:
        crawlers[source.id] = crawler = process.create_crawler(SPIDERS[source.kind])
        process.crawl(crawler, source=source, store_path=str(settings.store_path), since=since)
    if runnable:
        process.start()
    # This process's own runs: another crawl of the same source may be running meanwhile.
    run_ids = {sid: crawler.stats.get_value("pesquisa/run_id") for sid, crawler in crawlers.items()}
    with Store(settings.store_path) as store:
        runs = store.runs([rid for rid in run_ids.values() if rid])
    warn_failing(settings, runnable)  # a source failing N runs in a row: once per run, in the log
    return {sid: runs.get(rid, {}) if rid else {} for sid, rid in run_ids.items()}
