"""Write extracted articles to the store and record the run's counts per source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawlers.items import ArticleItem
from crawlers.spiders.base import SourceSpider
from pesquisa.ids import document_id
from pesquisa.store import NewDocument, RunCounts, Store


class StorePipeline:
    """The crawler's only writer to the store. A re-crawl of a known page adds nothing."""

    def __init__(self, crawler: Crawler, store_path: Path) -> None:
        self.crawler = crawler
        threshold = crawler.settings.getfloat("PESQUISA_NEAR_DUPLICATE_THRESHOLD", 0.8)
        self.store = Store(store_path, near_duplicate_threshold=threshold)
        self.counts = RunCounts()
        self.run_id = 0
        self.near_duplicates = True  # the source's choice, read when the spider opens

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        path = crawler.settings.get("PESQUISA_STORE_PATH")
        if not path:
            raise NotConfigured("PESQUISA_STORE_PATH is not set")
        pipeline = cls(crawler, Path(path))
        # The run is finished on spider_closed, which carries why the spider closed.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        if isinstance(spider, SourceSpider):
            self.near_duplicates = spider.source.near_duplicates
        self.run_id = self.store.start_run(spider.name if spider else "?")
        self.crawler.stats.set_value("pesquisa/run_id", self.run_id)  # for the runner's report

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        doc_id = document_id(item.canonical_url)
        outcome = self.store.save_document(
            NewDocument(
                id=doc_id, url=item.url, canonical_url=item.canonical_url, source=item.source,
                title=item.title, text=item.text, published=item.published,
                language=item.language, author=item.author, section=item.section,
                content_type=item.content_type, language_flagged=item.language_flagged,
                extra=item.extra or None, warc=item.warc,
                near_duplicates=self.near_duplicates,
            )
        )
        self.store.remember_link(document_id(item.link), item.link, doc_id)
        setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        if outcome == "new" and self.store.in_cluster(doc_id):
            self.counts.duplicates += 1
        return item

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        self.counts.fetched = int(stats.get_value("downloader/response_count", 0))
        self.counts.seen += int(stats.get_value("pesquisa/skipped_seen", 0))
        self.counts.failures = int(stats.get_value("pesquisa/failures", 0))
        self.counts.not_modified = int(stats.get_value("pesquisa/not_modified", 0))
        self.counts.last_error = stats.get_value("pesquisa/last_error")
        if isinstance(spider, SourceSpider):
            self.counts.start_failures = spider.start_failures()
            if self.counts.start_failures and not self.counts.last_error:
                self.counts.last_error = (
                    "no list of articles at a start URL (redirected off-site, "
                    "robots.txt without sitemaps, or an empty sitemap index?)"
                )
        self.store.finish_run(self.run_id, self.counts, close_reason=reason)
        self.store.close()
