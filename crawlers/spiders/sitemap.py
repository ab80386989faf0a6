"""`sitemap` sources: sitemap indexes, plain sitemaps and Google News sitemaps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from lxml import etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import sitemap_urls_from_robots

from crawlers.extract import to_iso
from crawlers.spiders.base import SourceSpider

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


class SitemapSpider(SourceSpider):
    kind = "sitemap"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.urls:
            yield self.request(url, self.parse_sitemap, dont_filter=True)

    def _body(self, response: Response) -> bytes | None:
        body = response.body
        if gzip_magic_number(response):
            try:
                body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            except ValueError:
                return None
        return body

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                yield self.request(url, self.parse_sitemap)
            return
        body = self._body(response)
        try:
            root = etree.fromstring(
                body or b"",
                parser=etree.XMLParser(resolve_entities=False, recover=True, huge_tree=False),
            )
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            self.crawler.stats.inc_value("pesquisa/bad_sitemap")
            self.crawler.stats.set_value("pesquisa/last_error", f"not a sitemap: {response.url}")
            self.logger.warning("not a sitemap: %s", response.url)
            return
        kind = _local(root.tag)
        for entry in root:
            loc = entry.findtext("{*}loc")
            if not loc:
                continue
            url = response.urljoin(loc.strip())
            if kind == "sitemapindex":
                yield self.request(url, self.parse_sitemap)
            elif kind == "urlset":
                published = entry.findtext(f"{{{NEWS_NS}}}news/{{{NEWS_NS}}}publication_date")
                request = self.article_request(url, to_iso(published))
                if request is not None:
                    yield request
