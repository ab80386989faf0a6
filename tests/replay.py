"""Replay a source's spider over recorded pages, without a network: fixture tests per source.

A fixture folder `tests/fixtures/sources/<source id>/` holds the pages a source's real site
serves (written to mirror its structure: feed format, selectors, date format, pagination) and
`manifest.yml`:

    pages:                       # URL as the spider requests it -> file in the folder
      "https://rpp.pe/rss": {file: rss.xml, type: application/rss+xml}
      "https://rpp.pe/politica/...-noticia-1": {file: article-1.html}   # type: text/html
    expect:                      # the articles the spider must extract, in any order
      - url: "https://rpp.pe/politica/...-noticia-1"     # the item's url
        title: "..."
        published: "2026-11-20T10:30:00-05:00"            # exact ISO 8601, Lima offset
        body: ["first words of the body", "a sentence from the middle"]  # substrings of text
        not_in_body: ["LEE TAMBIÉN", "(FIN)"]             # optional: must not be in the text
        author: "..."                                     # optional
        section: "..."                                    # optional

Sources whose URLs hold date placeholders ({since:%Y%m%d}, {day}, {month}) name their pages
with the same placeholders; they stand for the URLs of any day of the last two months.

`replay()` builds the spider as the runner does, runs its start requests and every callback
on the recorded responses (following the requests they yield), and returns the items and the
URLs it asked for that the fixture does not hold.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawlers.items import ArticleItem
from crawlers.runner import SPIDERS
from crawlers.spiders.paging import expand_url, today_in_lima
from pesquisa.sources import Source

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200


@dataclass
class Replay:
    items: list[ArticleItem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # requested, not in the fixture
    requested: list[str] = field(default_factory=list)


def load_fixture(source_id: str) -> tuple[dict[str, Page], list[dict[str, Any]]]:
    folder = FIXTURES / source_id
    manifest = yaml.safe_load((folder / "manifest.yml").read_text(encoding="utf-8"))
    pages = {
        url: Page((folder / spec["file"]).read_bytes(), spec.get("type", "text/html"),
                  int(spec.get("status", 200)))
        for template, spec in manifest["pages"].items()
        for url in _dated_urls(template)
    }
    return pages, list(manifest.get("expect", []))


def _dated_urls(template: str) -> list[str]:
    """A fixture URL as the spider asks for it today. Sources whose URLs hold {since},
    {today}, {day} or {month} (see crawlers/spiders/paging.py) ask for URLs that move with
    the calendar; the fixture names them with the same placeholders, and each one stands for
    every URL a spider could ask for today with a look-back of up to 62 days."""
    if "{" not in template:
        return [template]
    today = today_in_lima()
    urls = (expand_url(template, today - timedelta(days=n), today) for n in range(63))
    return list(dict.fromkeys(url.replace("{page}", "") for batch in urls for url in batch))


def _response(request: Request, page: Page) -> Response:
    kind = page.content_type.split(";")[0].strip().lower()
    headers = {"Content-Type": page.content_type}
    cls: type[Response]
    if kind in ("text/html", "application/xhtml+xml"):
        cls = HtmlResponse
    elif kind.endswith("xml"):
        cls = XmlResponse
    elif kind.startswith("text/") or kind.endswith("json"):
        cls = TextResponse
    else:
        cls = Response
    return cls(url=request.url, status=page.status, headers=headers, body=page.body,
               request=request)


async def _collect(results: Any) -> list[Any]:
    if results is None:
        return []
    if inspect.isawaitable(results):
        results = await results
        return await _collect(results)
    if isinstance(results, AsyncIterator):
        return [item async for item in results]
    if isinstance(results, (Request, ArticleItem)):
        return [results]
    return list(results)


async def _run(spider: Any, pages: dict[str, Page], max_requests: int) -> Replay:
    replay = Replay()
    queue: list[Request] = [request async for request in spider.start()]
    while queue and len(replay.requested) < max_requests:
        request = queue.pop(0)
        replay.requested.append(request.url)
        page = pages.get(request.url)
        if page is None:
            replay.missing.append(request.url)
            continue
        response = _response(request, page)
        callback = request.callback or spider.parse
        for result in await _collect(callback(response, **request.cb_kwargs)):
            if isinstance(result, Request):
                queue.append(result)
            elif isinstance(result, ArticleItem):
                replay.items.append(result)
    return replay


def replay(
    source: Source, pages: dict[str, Page], store_path: Path, *, since: Any = None,
    max_requests: int = 500,
) -> Replay:
    """Run `source`'s spider over `pages` (URL -> recorded response) and collect its items."""
    cls = SPIDERS[source.kind]
    crawler = get_crawler(cls)
    spider = cls.from_crawler(crawler, source=source, store_path=str(store_path), since=since)
    crawler.spider = spider
    try:
        return asyncio.run(_run(spider, pages, max_requests))
    finally:
        spider.closed("finished")

