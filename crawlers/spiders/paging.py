"""What the paged kinds (listing, bulletin, api) share: URL templates, page URLs, selectors
on cards, dates as official sites print them, dot paths into JSON, and hints that a listing
card or an API result gives about the document it leads to."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from crawlers.dates import parse_spanish_date
from crawlers.extract import to_iso
from crawlers.items import ArticleItem
from crawlers.spiders.base import PDF_CONTENT_TYPE
from pesquisa.lima import LIMA
from pesquisa.source_fields import XPATH_PREFIX


def looks_like_pdf(url: str) -> bool:
    return url.lower().split("?")[0].split("#")[0].endswith(".pdf")


# -- URLs ------------------------------------------------------------------------------------


def today_in_lima() -> date:
    return datetime.now(LIMA).date()


def months_between(first: date, last: date) -> list[str]:
    """"YYYY-MM" from `last`'s month back to `first`'s, newest first."""
    months, year, month = [], last.year, last.month
    while (year, month) >= (first.year, first.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def days_between(first: date, last: date) -> list[date]:
    """Each day from `last` back to `first`, newest first."""
    return [last - timedelta(days=n) for n in range((last - first).days + 1)]


def expand_url(template: str, since: date, today: date) -> list[str]:
    """A source URL with its placeholders filled: {since} and {today} (dates, with an
    optional strftime spec such as {since:%Y%m%d}), {month} (YYYY-MM: one URL for each
    month from since's to today's) and {day} (one URL per day, {day:%Y%m%d}); newest first.
    {page} is left for paging."""
    if "{" not in template:
        return [template]
    months = months_between(since, today) if "{month}" in template else [""]
    days = days_between(since, today) if "{day" in template else [today]
    return list(dict.fromkeys(
        template.format(since=since, today=today, month=month, day=day, page="{page}")
        for month in months
        for day in days
    ))


def with_param(url: str, name: str, value: Any) -> str:
    """`url` with the query parameter `name` set to `value` (added or replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, str(value)))
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]:,")))


# -- selectors -------------------------------------------------------------------------------


Node = Selector | SelectorList[Selector] | TextResponse  # what selectors run on


def select(node: Node, selector: str) -> SelectorList[Selector]:
    if selector.startswith(XPATH_PREFIX):
        return node.xpath(selector[len(XPATH_PREFIX):].strip())
    return node.css(selector)


def _value(found: Selector, attribute: str | None) -> str:
    if isinstance(found.root, str):  # ::text, ::attr(x), an XPath text() or @attribute
        return found.root
    if attribute:
        return str(found.root.get(attribute) or "")
    return " ".join(" ".join(found.xpath(".//text()").getall()).split())


def texts(node: Node, selector: str | None) -> list[str]:
    """The text of each match (an element's text content, or the attribute it names)."""
    if not selector:
        return []
    return [v for v in (_value(f, None).strip() for f in select(node, selector)) if v]


def first_text(node: Node, selector: str | None) -> str | None:
    found = texts(node, selector)
    return " ".join(found[0].split()) if found else None


def links(node: Node, selector: str | None) -> list[str]:
    """The href of each matched element (or the attribute value the selector names)."""
    if not selector:
        return []
    found = (_value(f, "href").strip() for f in select(node, selector))
    return list(dict.fromkeys(v for v in found if v))


# -- dates -----------------------------------------------------------------------------------

def parse_date(text: str | None, date_format: str | None = None) -> str | None:
    """ISO 8601 in Lima time from an ISO value, a `date_format` (strptime) value, or a date
    as Peruvian official sites print it; None when none of these reads it."""
    if not text:
        return None
    text = " ".join(text.split())
    if date_format:
        try:
            return to_iso(datetime.strptime(text, date_format))
        except ValueError:
            pass
    return to_iso(text) or to_iso(parse_spanish_date(text))


def older_than(published: str | None, since: date | None) -> bool:
    """Whether a document dated `published` is from before the day `since` (Lima)."""
    if since is None or published is None:
        return False
    return datetime.fromisoformat(published).astimezone(LIMA).date() < since


def since_day(since: date | None, lookback_days: int) -> date:
    return since or today_in_lima() - timedelta(days=lookback_days)


# -- JSON ------------------------------------------------------------------------------------


def dot(data: Any, path: str | None) -> Any:
    """The value at a dot path (`_source.sala.nombre`, `items.0.url`), or None."""
    if path is None:
        return None
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.lstrip("-").isdigit():
            index = int(part)
            data = data[index] if -len(data) <= index < len(data) else None
        else:
            return None
        if data is None:
            return None
    return data


# -- hints -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hints:
    """What a listing card or an API result says about the document behind its link."""

    title: str | None = None
    published: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def enrich(item: ArticleItem, hints: Hints) -> ArticleItem:
    """The item with the card's facts: its title and date for a PDF (whose own metadata is
    rarely the document's), or when the page gave none; and its extra fields."""
    pdf = item.content_type == PDF_CONTENT_TYPE
    title = hints.title if hints.title and (pdf or not item.title) else item.title
    published = item.published or hints.published
    if pdf and hints.published:  # a PDF's creation date is not its publication date
        published = hints.published
    return replace(
        item,
        title=title,
        published=published,
        extra={**hints.extra, **item.extra},
    )
