"""What spiders yield: one extracted article."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ArticleItem:
    source: str
    url: str  # the URL as fetched (after redirects)
    canonical_url: str
    title: str
    text: str
    published: str | None  # ISO 8601, timezone-aware
    language: str | None
    author: str | None
