"""`api` sources: JSON endpoints, paged, with each result's fields named by dot paths.

A result whose JSON carries the document's text becomes a document directly; one with only a
PDF or a page URL has it fetched. Paging stops at an empty or short page, at the answer's
own page count, at a page of known results, or at `max_pages`; `--since DAY` pages on past
known results until all are older than DAY. URLs may hold {since}, {today} and {month}
(one URL per month, as the Tribunal Constitucional's chronological search wants).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from scrapy.http import Request, Response, TextResponse

from crawlers.items import ArticleItem
from crawlers.spiders.base import START, WARC
from crawlers.spiders.listing import PAGE_PLACEHOLDER, Card, PagedSpider
from crawlers.spiders.paging import (
    Hints,
    dot,
    looks_like_pdf,
    older_than,
    parse_date,
    with_param,
)
from pesquisa.ids import canonical_url, strip_tracking
from pesquisa.source_fields import ApiFields

JSON_TYPE = "application/json"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split()) if not isinstance(value, str) else value.strip()
    return text or None


class ApiSpider(PagedSpider):
    kind = "api"
    fields: ApiFields

    def start_request(self, url: str, template: str, base: str) -> Request | None:
        return self.api_request(url, 0, base, template)

    def page_url(self, base: str, page: int) -> str:
        """The URL of result page `page` (0: the first), by the source's `paging`."""
        paging = self.fields.paging
        number = paging.start + page * paging.step
        url = base.replace(PAGE_PLACEHOLDER, str(number))
        if paging.param and PAGE_PLACEHOLDER not in base:
            url = with_param(url, paging.param, number)
        if paging.size_param and paging.size:
            url = with_param(url, paging.size_param, paging.size)
        return url

    def api_request(self, url: str, page: int, base: str, start: Any) -> Request:
        self.listing_urls.add(url)
        return self.request(
            url, self.parse_api, meta=self.index_meta(start),
            cb_kwargs={"page": page, "base": base},
            headers={"Accept": JSON_TYPE},
        )

    def parse_api(self, response: Response, page: int = 0, base: str = "") -> Iterator[Any]:
        try:
            data = json.loads(response.text if isinstance(response, TextResponse) else b"")
        except (ValueError, AttributeError):
            self.note_failure("not JSON", response.url)
            return
        results = dot(data, self.fields.items_path) if self.fields.items_path else data
        if not isinstance(results, list):
            self.note_failure(f"no list of results at {self.fields.items_path!r}", response.url)
            return
        self.start_worked(response)
        cards, seen = [], 0
        for result in results:
            if not isinstance(result, dict):
                continue
            card = self._card(response, result)
            if card is None:
                continue
            cards.append(card)
            if self._known(card.link):
                seen += 1
                self.crawler.stats.inc_value("pesquisa/skipped_seen")
                continue
            if older_than(card.hints.published, self.since):
                continue
            yield from self._follow_result(response, result, card)
        if self._more(data, results, page, cards, seen):
            url = self.page_url(base, page + 1)
            if url not in self.listing_urls:
                yield self.api_request(url, page + 1, base, response.meta.get(START))

    def _more(
        self, data: Any, results: list[Any], page: int, cards: list[Card], seen: int
    ) -> bool:
        paging = self.fields.paging
        if not results or (paging.size and len(results) < paging.size):
            return False
        pages = dot(data, paging.pages_path)
        if isinstance(pages, (int, str)) and str(pages).isdigit() and page + 1 >= int(pages):
            return False  # the answer's own count of pages
        limit = paging.since_max_pages if self.since else paging.max_pages
        if page + 1 >= limit:
            return False
        if self.since:
            return self.newer_than_since(cards)
        return seen < len(cards) or not cards or not self.last_run_clean

    def _card(self, response: Response, result: dict[str, Any]) -> Card | None:
        fields = self.fields.fields
        url = _text(dot(result, fields.url)) or _text(dot(result, fields.pdf))
        if url is None:
            self.crawler.stats.inc_value("pesquisa/api_results_without_url")
            return None
        extra = {
            name: value for name, path in self.fields.extra_fields.items()
            if (value := dot(result, path)) is not None
        }
        title = _text(dot(result, fields.title))
        if self.fields.title_format:
            values = {k: _text(dot(result, p)) or "" for k, p in fields if p}
            values.update({k: _text(v) or "" for k, v in extra.items()})
            title = " ".join(self.fields.title_format.format_map(values).split()) or title
        published = parse_date(_text(dot(result, fields.published)), self.fields.date_format)
        link = self.absolute(response, url)
        return Card(link, Hints(title, published, extra)) if link else None

    def _follow_result(
        self, response: Response, result: dict[str, Any], card: Card
    ) -> Iterator[Any]:
        fields = self.fields.fields
        text = dot(result, fields.text)
        if isinstance(text, str) and len(text.strip()) >= self.fields.min_text_chars:
            if card.link not in self.followed:
                self.followed.add(card.link)
                yield self._item(response, result, card, text.strip())
            return
        pdf = _text(dot(result, fields.pdf))
        target = self.absolute(response, pdf) if pdf else card.link
        if target is None:
            return
        if pdf or looks_like_pdf(target):
            request = self.pdf_request(target, card.hints, card.link)
        else:
            request = self.document_request(target, card.hints, card.link)
        if request is not None:
            yield request

    def _item(
        self, response: Response, result: dict[str, Any], card: Card, text: str
    ) -> ArticleItem:
        url = strip_tracking(card.link)
        fields = self.fields.fields
        return ArticleItem(
            source=self.source.id, url=url, canonical_url=canonical_url(url), link=card.link,
            title=card.hints.title or url, text=text, published=card.hints.published,
            language=self.source.language, author=_text(dot(result, fields.author)),
            section=_text(dot(result, fields.section)), content_type=JSON_TYPE,
            extra=dict(card.hints.extra), warc=response.meta.get(WARC),
        )
