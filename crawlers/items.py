"""What spiders yield: one extracted article."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pesquisa.store import WarcPointer


@dataclass
class ArticleItem:
    source: str
    url: str  # the page's own canonical URL, or the fetched one, without tracking parameters
    canonical_url: str
    link: str  # the link that was followed (feed or sitemap entry), before redirects
    title: str
    text: str
    published: str | None  # ISO 8601, timezone-aware
    language: str | None
    author: str | None
    section: str | None = None
    content_type: str = "text/html"
    language_flagged: bool = False  # not in the source's language: kept, but flagged
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific facts
    warc: WarcPointer | None = None  # the archived response it was extracted from
