"""Soft blocks: gob.pe answers bursts with an HTTP 200 HTML page of about 8 KB of markup and no
text. Such a page is a retry-later (with backoff, and that host slowed down as much), never a
document; when retries run out it is a failure, "soft block (empty 200 page)".

Only 200 HTML responses are judged: feeds, sitemaps, JSON, PDFs and redirects pass untouched.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response, TextResponse

from crawlers.middlewares.refused import Refused
from crawlers.middlewares.retry import backoff_wait, retry_later

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

HTML_TYPES = (b"text/html", b"application/xhtml+xml")
# XML that some servers label text/html: a feed or sitemap is never a soft block.
XML_ROOTS = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(rss|feed|urlset|sitemapindex|rdf:RDF)\b", re.S | re.I
)
INVISIBLE = ("script", "style", "noscript", "template", "svg")
# A page this big is not an empty block page, however little text it shows; parsing it
# again just to count its text would slow every crawl down.
MAX_JUDGED_BYTES = 512 * 1024
REASON = "soft block (empty 200 page)"


def visible_text_length(html: str) -> int:
    """Characters of text a reader would see: no scripts, styles or markup; spaces collapsed."""
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):  # empty or unparseable: nothing to see
        return 0
    etree.strip_elements(root, *INVISIBLE, etree.Comment, with_tail=False)
    head = root.find("head")
    if head is not None:  # the <title> alone does not make a page
        head.drop_tree()
    return len(" ".join(root.text_content().split()))


def is_soft_block(response: Response, max_chars: int) -> bool:
    if response.status != 200 or not isinstance(response, TextResponse):
        return False
    content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    if content_type not in HTML_TYPES or len(response.body) > MAX_JUDGED_BYTES:
        return False
    if XML_ROOTS.match(response.body[:2048]):
        return False
    return visible_text_length(response.text) < max_chars


class SoftBlockDetector:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_chars = crawler.settings.getint("PESQUISA_SOFT_BLOCK_MAX_CHARS", 80)
        if self.max_chars <= 0:
            raise NotConfigured("PESQUISA_SOFT_BLOCK_MAX_CHARS is 0")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SoftBlockDetector:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if not is_soft_block(response, self.max_chars):
            return response
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("pesquisa/soft_blocks")
        self._slow_down(request)
        retry = await retry_later(self.crawler, request, "soft block")
        if retry is None:
            raise Refused(REASON)
        return retry

    def _slow_down(self, request: Request) -> None:
        """Make the host's download slot wait between requests at least as long as this retry
        does (AutoThrottle, when on, eases the delay back as the host answers normally)."""
        engine = self.crawler.engine
        if engine is None or engine.downloader is None:
            return
        downloader = engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is None:
            return
        retry = int(request.meta.get("retry_times", 0)) + 1
        slot.delay = max(slot.delay, backoff_wait(self.crawler.settings, retry))
