"""Main text, title, date and language of an article page (trafilatura, htmldate)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import htmldate
import trafilatura
from lxml import html as lxml_html
from trafilatura.settings import Document

from pesquisa.ids import strip_tracking
from pesquisa.lima import LIMA

MIN_TEXT_CHARS = 200
# " | El Comercio Perú", " - infobae": the outlet's name that pages append to their titles.
_SUFFIX = re.compile(r"\s+[|\-–—]\s+[^|\-–—]{2,40}$")


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    published: str | None
    language: str | None
    author: str | None
    canonical_url: str | None  # rel=canonical as published (tracking parameters removed)


def to_iso(value: str | datetime | date | None) -> str | None:
    """ISO 8601 with a timezone; naive values and bare dates are taken as Lima time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=LIMA)
    return value.astimezone(LIMA).isoformat(timespec="seconds")


def strip_site_suffix(title: str) -> str:
    stripped = _SUFFIX.sub("", title).strip()
    return stripped if len(stripped) >= 12 else title.strip()


_META_DATES = (
    "//meta[@property='article:published_time']/@content",
    "//meta[@property='og:published_time']/@content",
    "//meta[@itemprop='datePublished']/@content",
    "//meta[@name='date']/@content",
)


def _json_ld_dates(tree: Any) -> Iterator[str]:
    """datePublished values from JSON-LD blocks (objects, lists and @graph)."""
    for block in tree.xpath("//script[@type='application/ld+json']/text()"):
        try:
            data = json.loads(block)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if isinstance(item.get("datePublished"), str):
                    yield item["datePublished"]
                stack.extend(v for k, v in item.items() if k == "@graph")


@dataclass(frozen=True)
class _PageFacts:
    canonical: str | None
    language: str | None
    published: str | None


def _page_facts(page: str) -> _PageFacts:
    """rel=canonical, <html lang> and the declared publication date (JSON-LD, then meta)."""
    try:
        tree = lxml_html.fromstring(page)
    except (ValueError, lxml_html.etree.ParserError):
        return _PageFacts(None, None, None)
    canonical = tree.xpath("string(//link[@rel='canonical']/@href)") or None
    lang = tree.xpath("string(/html/@lang)") or None
    declared = [*_json_ld_dates(tree), *(v for xp in _META_DATES for v in tree.xpath(xp))]
    published = next((iso for iso in map(to_iso, declared) if iso), None)
    return _PageFacts(canonical, lang.split("-")[0].lower() if lang else None, published)


def extract(page: str, url: str, published_hint: str | None = None) -> Extracted | None:
    """The article in `page`, or None when the page holds no article-sized text."""
    doc = trafilatura.bare_extraction(
        page, url=url, with_metadata=True, include_comments=False, include_tables=True
    )
    if not isinstance(doc, Document):
        return None
    text = (doc.text or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        return None
    title = strip_site_suffix(doc.title or "")
    if text.startswith(title) and title:
        text = text[len(title):].lstrip()
    facts = _page_facts(page)
    # The page's own declaration first, then the feed's date, then htmldate's heuristics.
    published = facts.published or to_iso(published_hint)
    if published is None:
        found = htmldate.find_date(
            page, url=url, outputformat="%Y-%m-%dT%H:%M:%S%z", original_date=True
        )
        published = to_iso(found) or to_iso(doc.date)
    return Extracted(
        title=title,
        text=text,
        published=published,
        language=facts.language or doc.language,
        author=doc.author,
        canonical_url=strip_tracking(facts.canonical) if facts.canonical else None,
    )
