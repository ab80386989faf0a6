"""Scrapy settings, built from Pesquisa's one settings object."""

from __future__ import annotations

from typing import Any

from pesquisa.settings import Settings

SPIDER_MODULES = ["crawlers.spiders"]
# Scrapy 2.19 holds CONCURRENT_REQUESTS_PER_DOMAIN only with a positive DOWNLOAD_DELAY. Its
# downloader (Downloader._process_queue) starts a request as an asyncio task that marks it
# "transferring" only on the loop's next turn; with a zero delay the loop pops every queued
# request of a host meanwhile, so up to CONCURRENT_REQUESTS (16) reach one host at once. With
# any delay it pops one and waits, and the limit holds. 1 ms (0.5-1.5 ms with Scrapy's
# jitter) costs nothing against real sites: it caps a host at ~1000 requests a second.
MIN_DOWNLOAD_DELAY = 0.001


def scrapy_settings(settings: Settings) -> dict[str, Any]:
    crawl = settings.crawl
    return {
        "BOT_NAME": "pesquisa",
        "SPIDER_MODULES": SPIDER_MODULES,
        "USER_AGENT": f"{crawl.user_agent} (+{crawl.contact_url})",
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DOWNLOAD_DELAY": max(crawl.download_delay, MIN_DOWNLOAD_DELAY),
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": crawl.autothrottle_start_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_host,
        "CONCURRENT_REQUESTS": 16,
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        # A backstop: SizeLimit applies max_page_bytes to pages and max_pdf_bytes to PDFs.
        "DOWNLOAD_MAXSIZE": max(crawl.max_page_bytes, crawl.max_pdf_bytes),
        "PESQUISA_MAX_PAGE_BYTES": crawl.max_page_bytes,
        "PESQUISA_MAX_PDF_BYTES": crawl.max_pdf_bytes,  # per PDF request (download_maxsize)
        "PESQUISA_OCR": crawl.ocr,
        "PESQUISA_OCR_MAX_PAGES": crawl.ocr_max_pages,
        "PESQUISA_OCR_MAX_SECONDS": crawl.ocr_max_seconds,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": crawl.retries,
        "RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
        "PESQUISA_RETRY_BACKOFF": crawl.retry_backoff,
        "PESQUISA_RETRY_BACKOFF_MAX": crawl.retry_backoff_max,
        "PESQUISA_SOFT_BLOCK_MAX_CHARS": crawl.soft_block_max_chars,
        "CLOSESPIDER_ITEMCOUNT": crawl.max_items_per_run,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        # A development lint that re-reads a generator callback's source on every response
        # (its cache misses bound methods): 2 ms per page, a third of our crawl's overhead.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "LOG_LEVEL": "INFO" if settings.log_level == "DEBUG" else "WARNING",
        "ITEM_PIPELINES": {"crawlers.pipelines.store.StorePipeline": 500},
        # Ours, by the order Scrapy calls process_request (process_response runs backwards).
        "DOWNLOADER_MIDDLEWARES": {
            # Before the offsite filter, so a redirect to 169.254.169.254 is a failure, not a skip.
            "crawlers.middlewares.private_hosts.PrivateHostGuard": 40,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawlers.middlewares.retry.BackoffRetry": 550,
            "crawlers.middlewares.soft_block.SoftBlockDetector": 560,
            "crawlers.middlewares.conditional.ConditionalGet": 570,
            # Decompression within the page or PDF limit (Scrapy's own knows one limit only).
            "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
            "crawlers.middlewares.size_limit.LimitedDecompression": 590,
            # After decompression (590): PDF text and OCR in a thread, off the crawl's loop.
            "crawlers.middlewares.pdf_text.PdfTextInThread": 580,
            "crawlers.middlewares.redirect_guard.RedirectGuard": 610,
            "crawlers.middlewares.size_limit.SizeLimit": 620,
            # Last before the downloader: raw responses, every redirect hop and retry.
            "crawlers.middlewares.warc.WarcArchive": 950,
        },
        # The web only: no file:, data:, s3: or ftp: download handlers at all.
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "s3": None, "ftp": None},
        "PESQUISA_STORE_PATH": str(settings.store_path),
        "PESQUISA_NEAR_DUPLICATE_THRESHOLD": crawl.near_duplicate_threshold,
        "PESQUISA_DATA_DIR": str(settings.data_dir),
        "PESQUISA_WARC": crawl.warc,
        "PESQUISA_WARC_MAX_BYTES": crawl.warc_max_bytes,
    }
