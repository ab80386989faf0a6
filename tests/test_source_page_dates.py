"""Article pages that state their own publication date give it without a feed's help.

In the replay (tests/test_source_fixtures.py) the feed or sitemap date is passed along as a
hint, so a page whose own date is misread can still pass there. Here each recorded article
page of these sources is extracted on its own, with no hint: the date must come from the
page (JSON-LD, article:published_time, or the visible Spanish date, depending on the outlet)
and its rel=canonical must name the expected article.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from crawlers.extract import extract
from tests.replay import FIXTURES

# Sources whose fixture pages mirror outlets that print the date in the page itself:
# Grupo El Comercio (Arc XP), Infobae and Canal N (visible "28 de setiembre de 2026, ...").
SELF_DATED = (
    "canaln",
    "correo-politica",
    "elcomercio",
    "elcomercio-politica-sitemap",
    "gestion",
    "gestion-news-sitemap",
    "infobae-peru",
    "peru21",
    "trome",
)


def _pages() -> list[Any]:
    cases = []
    for source_id in SELF_DATED:
        manifest = yaml.safe_load((FIXTURES / source_id / "manifest.yml").read_text("utf-8"))
        for url, spec in manifest["pages"].items():
            if spec.get("type", "text/html").startswith("text/html"):
                cases.append(pytest.param(source_id, url, spec["file"], manifest["expect"],
                                          id=f"{source_id}/{spec['file']}"))
    return cases


@pytest.mark.parametrize(("source_id", "url", "file", "expected"), _pages())
def test_page_states_its_own_date(
    source_id: str, url: str, file: str, expected: list[dict[str, Any]]
) -> None:
    page = (FIXTURES / source_id / file).read_text(encoding="utf-8")
    found = extract(page, url)
    assert found is not None, "no article found"
    wanted = {want["url"]: want for want in expected}
    assert found.canonical_url in wanted, f"canonical {found.canonical_url} is not expected"
    want = wanted[found.canonical_url]
    assert found.published == want["published"]
    assert found.title == want["title"]
