"""Scrapy settings, built from Pesquisa's one settings object."""

from __future__ import annotations

from typing import Any

from pesquisa.settings import Settings

SPIDER_MODULES = ["crawlers.spiders"]


def scrapy_settings(settings: Settings) -> dict[str, Any]:
    crawl = settings.crawl
    return {
        "BOT_NAME": "pesquisa",
        "SPIDER_MODULES": SPIDER_MODULES,
        "USER_AGENT": f"{crawl.user_agent} (+{crawl.contact_url})",
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": crawl.autothrottle_start_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_host,
        "CONCURRENT_REQUESTS": 16,
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": crawl.retries,
        "RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
        "CLOSESPIDER_ITEMCOUNT": crawl.max_items_per_run,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO" if settings.log_level == "DEBUG" else "WARNING",
        "ITEM_PIPELINES": {"crawlers.pipelines.store.StorePipeline": 500},
        # Ours, by the order Scrapy calls process_request (process_response runs backwards).
        "DOWNLOADER_MIDDLEWARES": {
        },
        # The web only: no file:, data:, s3: or ftp: download handlers at all.
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "s3": None, "ftp": None},
        "PESQUISA_STORE_PATH": str(settings.store_path),
    }
