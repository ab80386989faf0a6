"""`bulletin` sources: PDF documents, named directly or linked from paginated HTML indexes.

A card of the index links to its PDFs (`pdf_links`), or to a page that does (`detail`); the
card's title and date become the document's (a PDF's own metadata rarely is). The text comes
from the PDF's text layer, or from OCR when it has none (crawlers/pdf.py). Paging and
`--since` work as for listings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Request, Response, TextResponse

from crawlers.middlewares.pdf_text import is_pdf_response
from crawlers.spiders.base import START
from crawlers.spiders.listing import Card, PagedSpider
from crawlers.spiders.paging import Hints, links, looks_like_pdf, select
from pesquisa.source_fields import BulletinFields


class BulletinSpider(PagedSpider):
    kind = "bulletin"
    fields: BulletinFields

    def start_request(self, url: str, template: str, base: str) -> Request | None:
        if not looks_like_pdf(url):
            return super().start_request(url, template, base)
        if self._known(url):  # a PDF named in the source file, already stored
            self.crawler.stats.inc_value("pesquisa/skipped_seen")
            self.starts_reached.add(template)
            return None
        meta = {"download_maxsize": self.max_pdf_bytes, START: template}
        return self.document_request(url, Hints(), None, **meta)

    def parse_document(
        self, response: Response, hints: Hints | None = None, link: str | None = None
    ) -> Iterator[Any]:
        if response.meta.get(START):  # a PDF named in the source file
            self.start_worked(response)
        yield from super().parse_document(response, hints, link)

    def parse_listing(self, response: Response, page: int = 0, base: str = "") -> Iterator[Any]:
        if is_pdf_response(response):  # a start URL that serves a PDF without saying so in its name
            self.start_worked(response)
            yield from self.parse_document(response, Hints(), response.url)
            return
        yield from super().parse_listing(response, page, base)

    def cards(self, response: TextResponse) -> list[Card]:
        nodes = select(response, self.fields.items) if self.fields.items else [response]
        found: dict[str, Card] = {}
        for node in nodes:
            hints = self.card_hints(response, node)
            if self.fields.detail:
                pages = links(node, self.fields.detail)
                link = self.absolute(response, pages[0]) if pages else None
                if link:
                    found.setdefault(link, Card(link, hints))
                continue
            found_pdfs = (self.absolute(response, h) for h in links(node, self.fields.pdf_links))
            pdfs = [pdf for pdf in found_pdfs if pdf]
            if pdfs:  # one card, one document: its first PDF is the one it names
                found.setdefault(pdfs[0], Card(pdfs[0], hints, pdfs[:1]))
            if not self.fields.items:  # the whole page: every PDF is a document of its own
                for pdf in pdfs[1:]:
                    found.setdefault(pdf, Card(pdf, Hints(), [pdf]))
        return list(found.values())

    def follow_card(self, response: Response, card: Card) -> Iterator[Any]:
        if card.targets:
            request = self.pdf_request(card.targets[0], card.hints)
        elif card.link in self.followed:
            request = None
        elif self._known(card.link):  # a detail page whose PDF is stored already
            self.crawler.stats.inc_value("pesquisa/skipped_seen")
            request = None
        else:
            self.followed.add(card.link)
            request = self.request(
                card.link, self.parse_detail, cb_kwargs={"hints": card.hints, "link": card.link}
            )
        if request is not None:
            yield request

    def parse_detail(self, response: Response, hints: Hints, link: str) -> Iterator[Any]:
        """A card's own page: its first PDF is the document, known afterwards by the page's
        link (so the page is not fetched again once the PDF is stored)."""
        if not isinstance(response, TextResponse):
            if is_pdf_response(response):
                yield from self.parse_document(response, hints, link)
            return
        pdfs = links(response, self.fields.pdf_links)
        if not pdfs:
            self.note_failure("no PDF link on the page", response.url)
            return
        url = self.absolute(response, pdfs[0])
        if url is None:
            return
        try:
            yield self.request(
                url, self.parse_document, cb_kwargs={"hints": hints, "link": link},
                meta={"download_maxsize": self.max_pdf_bytes},
            )
        except ValueError as exc:  # not a web link (file:///C:/...)
            self.note_failure(f"bad link: {exc}", url)
