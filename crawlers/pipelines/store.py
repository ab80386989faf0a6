"""Write extracted articles to the store and record the run's counts per source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawlers.items import ArticleItem
from pesquisa.ids import document_id
from pesquisa.store import NewDocument, RunCounts, Store


class StorePipeline:
    """The crawler's only writer to the store. A re-crawl of a known page adds nothing."""

    def __init__(self, crawler: Crawler, store_path: Path) -> None:
        self.crawler = crawler
        self.store = Store(store_path)
        self.counts = RunCounts()
        self.run_id = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        path = crawler.settings.get("PESQUISA_STORE_PATH")
        if not path:
            raise NotConfigured("PESQUISA_STORE_PATH is not set")
        return cls(crawler, Path(path))

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.run_id = self.store.start_run(spider.name if spider else "?")

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        outcome = self.store.save_document(
            NewDocument(
                id=document_id(item.canonical_url), url=item.url,
                canonical_url=item.canonical_url, source=item.source, title=item.title,
                text=item.text, published=item.published, language=item.language,
                author=item.author,
            )
        )
        setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        self.crawler.stats.inc_value(f"pesquisa/{outcome}")
        return item

    def close_spider(self) -> None:
        stats = self.crawler.stats
        self.counts.fetched = int(stats.get_value("downloader/response_count", 0))
        self.counts.seen += int(stats.get_value("pesquisa/seen", 0))
        # Requests that failed for good (after retries); robots.txt refusals are not failures.
        self.counts.failures = int(stats.get_value("pesquisa/failures", 0)) + int(
            stats.get_value("pesquisa/bad_feed", 0)
        ) + int(stats.get_value("pesquisa/bad_sitemap", 0))
        self.counts.last_error = stats.get_value("pesquisa/last_error")
        self.store.finish_run(self.run_id, self.counts)
        self.store.close()
