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
        for request in self.start_requests_for(self.parse_sitemap):
            yield request

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
                try:
                    yield self.follow(response, url, self.parse_sitemap)
                except ValueError:
                    self.note_failure("malformed sitemap link", url)
            return
        body = self._body(response)
        try:
            root = etree.fromstring(
                body or b"",
                parser=etree.XMLParser(resolve_entities=False, recover=True, huge_tree=False),
            )
        except etree.XMLSyntaxError:
            root = None
        kind = _local(root.tag) if root is not None else None
        if root is None or kind not in ("sitemapindex", "urlset"):
            self.note_failure("not a sitemap", response.url)
            return
        if kind == "urlset":
            self.start_worked(response)
        for entry in root:
            loc = (entry.findtext("{*}loc") or "").strip()
            if not loc:
                continue
            if kind == "sitemapindex":
                try:
                    yield self.follow(response, response.urljoin(loc), self.parse_sitemap)
                except ValueError:
                    self.note_failure("malformed sitemap link", loc)
                continue
            published = entry.findtext(f"{{{NEWS_NS}}}news/{{{NEWS_NS}}}publication_date")
            link = self.absolute(response, loc)
            request = self.article_request(link, to_iso(published)) if link else None
            if request is not None:
                yield request
