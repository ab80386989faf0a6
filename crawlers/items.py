"""What spiders yield: one extracted article."""

from __future__ import annotations

from dataclasses import dataclass


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
