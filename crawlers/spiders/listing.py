"""`listing` sources: paginated HTML indexes of cards (gob.pe's `?sheet=N`), read with the
CSS or XPath selectors of the source file; each card's link is fetched as an article.

Paging stops at the first page whose cards are all known (an incremental run reads one or two
pages; not after a killed or failed run, which may have left older cards unstored), at an
empty page, or at `max_pages`. With `--since DAY` it goes on past known cards
until every dated card on a page is older than DAY (at most `since_max_pages`), and skips the
cards older than DAY.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from scrapy.http import Request, Response, TextResponse

from crawlers.extract import MIN_TEXT_CHARS
from crawlers.items import ArticleItem
from crawlers.spiders.base import CONDITIONAL, START, WARC, SourceSpider
from crawlers.spiders.paging import (
    Hints,
    enrich,
    expand_url,
    first_text,
    links,
    older_than,
    parse_date,
    select,
    since_day,
    today_in_lima,
    with_param,
)
from pesquisa.ids import canonical_url, document_id, strip_tracking
from pesquisa.settings import CrawlSettings
from pesquisa.source_fields import ListingFields, validate_kind_fields

PAGE_PLACEHOLDER = "{page}"
MAX_PDF_SETTING = "PESQUISA_MAX_PDF_BYTES"  # crawl.max_pdf_bytes, see crawlers/settings.py
DEFAULT_MAX_PDF = int(CrawlSettings.model_fields["max_pdf_bytes"].default)
BODY_TEXT = ".//text()[not(ancestor::script) and not(ancestor::style)]"


@dataclass(frozen=True)
class Card:
    """One entry of an index page: the link that identifies it and what it says about it."""

    link: str
    hints: Hints = field(default_factory=Hints)
    targets: list[str] = field(default_factory=list)  # bulletins: the PDFs it links to


class PagedSpider(SourceSpider):
    """An index read page by page; subclasses say what a card is and how to follow it."""

    fields: Any  # the kind's model from pesquisa.source_fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = validate_kind_fields(self.kind, self.source.model_extra, self.source.path)
        self.listing_urls: set[str] = set()  # never read one index page twice (next-link loops)
        # Links followed in this run: a card that moved to the next page while we paged, or
        # that two month or day URLs both list, is fetched once.
        self.followed: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        since = since_day(self.since, self.fields.lookback_days)
        for template in self.source.urls:
            for base in expand_url(template, since, today_in_lima()):
                url = self.page_url(base, 0)
                self.leads_from.setdefault(url, set()).add(template)
                request = self.start_request(url, template, base)
                if request is not None:
                    yield request

    def start_request(self, url: str, template: str, base: str) -> Request | None:
        return self.listing_request(url, 0, base, template)

    def index_meta(self, start: Any) -> dict[str, Any]:
        """Meta of an index page request. Unchanged since the last run (a 304), a page says
        nothing new; a backfill reads on regardless, so it asks unconditionally."""
        return {START: start, CONDITIONAL: not self.since}

    def listing_request(self, url: str, page: int, base: str, start: Any) -> Request:
        self.listing_urls.add(url)
        return self.request(
            url, self.parse_listing, meta=self.index_meta(start),
            cb_kwargs={"page": page, "base": base},
        )

    def page_url(self, base: str, page: int) -> str:
        """The URL of index page `page` (0: the first) when pages are numbered."""
        number = self.fields.first_page + page * self.fields.page_step
        if PAGE_PLACEHOLDER in base:
            return base.replace(PAGE_PLACEHOLDER, str(number))
        if page == 0 or not self.fields.page_param:
            return base  # the first page as the source file names it
        return with_param(base, self.fields.page_param, number)

    # -- index pages -------------------------------------------------------------------------

    def parse_listing(self, response: Response, page: int = 0, base: str = "") -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.note_failure("not an HTML index page", response.url)
            return
        cards = self.cards(response)
        if not cards:
            if page == 0 and self.fields.may_be_empty:  # a day without an edition
                self.start_worked(response)
            elif page == 0:  # later pages run empty at the end of an index; a first one should not
                self.note_failure("no items on the index page (check `items`/`link`)",
                                  response.url)
            return
        self.start_worked(response)
        seen = 0
        for card in cards:
            if self._known(card.link):
                seen += 1
            if older_than(card.hints.published, self.since):
                continue
            yield from self.follow_card(response, card)
        following = self.next_page(response, page, base, cards, seen)
        if following is not None:
            yield following

    def _known(self, link: str) -> bool:
        try:
            return self.store.knows(document_id(link))
        except ValueError:
            return False

    @cached_property
    def last_run_clean(self) -> bool:
        """Whether this source's previous run read to the end without a failure. Only then
        does a page of known cards mean that the pages after it are known too: a killed or
        stopped run (Ctrl-C, max_items_per_run), or a failed index page or article, may have
        left cards past it unstored. Runs from before close reasons were kept count as read."""
        current = self.crawler.stats.get_value("pesquisa/run_id")
        for run in self.store.iter_runs(self.source.id):
            if run["id"] != current:
                return (
                    run["finished_at"] is not None and not run["failures"]
                    and run.get("close_reason") in (None, "finished")
                )
        return True

    def keep_paging(self, page: int, cards: list[Card], seen: int) -> bool:
        limit = self.fields.since_max_pages if self.since else self.fields.max_pages
        if page + 1 >= limit:
            return False
        if self.since:
            return self.newer_than_since(cards)
        # a page of known cards: the rest is older and known too, if the last run finished
        return seen < len(cards) or not self.last_run_clean

    def newer_than_since(self, cards: list[Card]) -> bool:
        """A backfill pages on until every dated card of a page is older than --since."""
        dated = [card.hints.published for card in cards if card.hints.published]
        return not dated or not all(older_than(day, self.since) for day in dated)

    def next_page(
        self, response: TextResponse, page: int, base: str, cards: list[Card], seen: int
    ) -> Request | None:
        if not self.keep_paging(page, cards, seen):
            return None
        if self.fields.next_page:
            found = links(response, self.fields.next_page)
            url = self.absolute(response, found[0]) if found else None
        elif self.fields.page_param or PAGE_PLACEHOLDER in base:
            url = self.page_url(base, page + 1)
        else:
            url = None
        if url is None or url in self.listing_urls:
            return None
        try:
            return self.listing_request(url, page + 1, base, response.meta.get(START))
        except ValueError:
            self.note_failure("malformed next-page link", url)
            return None

    def card_hints(self, response: Response, card: Any) -> Hints:
        return Hints(
            title=first_text(card, self.fields.title),
            published=parse_date(first_text(card, self.fields.date), self.fields.date_format),
        )

    def cards(self, response: TextResponse) -> list[Card]:
        raise NotImplementedError

    def follow_card(self, response: Response, card: Card) -> Iterator[Any]:
        raise NotImplementedError

    # -- documents ---------------------------------------------------------------------------

    @property
    def max_pdf_bytes(self) -> int:
        return self.settings.getint(MAX_PDF_SETTING, DEFAULT_MAX_PDF) or DEFAULT_MAX_PDF

    def pdf_request(self, url: str, hints: Hints, link: str | None = None) -> Request | None:
        # Scrapy's own size check at the PDF limit (DOWNLOAD_MAXSIZE is the larger of the
        # page and PDF limits; SizeLimit applies each one by the response's headers).
        return self.document_request(url, hints, link, download_maxsize=self.max_pdf_bytes)

    def document_request(
        self, url: str, hints: Hints, link: str | None = None, **meta: Any
    ) -> Request | None:
        """A request for a document (None when the store knows its link), parsed with
        parse_document; `link` is what identifies it (default: its own URL)."""
        link = link or url
        if link in self.followed:
            return None
        self.followed.add(link)
        if self._known(link):
            self.crawler.stats.inc_value("pesquisa/skipped_seen")
            return None
        try:
            return self.request(
                url, self.parse_document, cb_kwargs={"hints": hints, "link": link}, meta=meta
            )
        except ValueError as exc:
            self.note_failure(f"bad link: {exc}", url)
            return None

    def parse_document(
        self, response: Response, hints: Hints | None = None, link: str | None = None
    ) -> Iterator[Any]:
        hints = hints or Hints()
        found = self.parse_article(response, published=hints.published, link=link,
                                   title=hints.title)
        for result in found:
            yield enrich(result, hints) if isinstance(result, ArticleItem) else result


class ListingSpider(PagedSpider):
    kind = "listing"
    fields: ListingFields

    def cards(self, response: TextResponse) -> list[Card]:
        found: dict[str, Card] = {}  # gob.pe repeats cards (mobile and desktop carousels)
        for node in select(response, self.fields.items):
            hrefs = links(node, self.fields.link)
            link = self.absolute(response, hrefs[0]) if hrefs else None
            if link:
                found.setdefault(link, Card(link, self.card_hints(response, node)))
        return list(found.values())

    def follow_card(self, response: Response, card: Card) -> Iterator[Any]:
        request = self.document_request(card.link, card.hints)
        if request is not None:
            yield request

    def parse_document(
        self, response: Response, hints: Hints | None = None, link: str | None = None
    ) -> Iterator[Any]:
        """The article, with the source's `article` selectors applied: they name the title
        and date where the site prints them, and give the body when trafilatura finds none."""
        article = self.fields.article
        if article is None or not isinstance(response, TextResponse):
            yield from super().parse_document(response, hints, link)
            return
        title = first_text(response, article.title)
        published = parse_date(first_text(response, article.date), self.fields.date_format)
        hints = hints or Hints()
        chosen = Hints(title or hints.title, published or hints.published, hints.extra)
        extracted = False
        for result in super().parse_document(response, chosen, link):
            if isinstance(result, ArticleItem):
                extracted = True
                result.title = title or result.title
                result.published = published or result.published
            yield result
        if not extracted and article.body:
            item = self._from_selectors(response, chosen, link)
            if item is not None:
                yield item

    def _from_selectors(
        self, response: TextResponse, hints: Hints, link: str | None
    ) -> ArticleItem | None:
        assert self.fields.article is not None and self.fields.article.body is not None
        blocks = select(response, self.fields.article.body)
        lines = [" ".join(t.split()) for t in blocks.xpath(BODY_TEXT).getall()]
        text = "\n".join(line for line in lines if line)
        if len(text) < MIN_TEXT_CHARS or not hints.title:
            self.crawler.stats.inc_value("pesquisa/no_article")
            return None
        url = strip_tracking(response.url)
        self.crawler.stats.inc_value("pesquisa/selector_articles")
        return ArticleItem(
            source=self.source.id, url=url, canonical_url=canonical_url(url),
            link=link or response.url, title=hints.title, text=text,
            published=hints.published, language=self.source.language, author=None,
            extra=dict(hints.extra), warc=response.meta.get(WARC),
        )
