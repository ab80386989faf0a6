"""Article extraction on pages shaped like the real outlets' (the bundled demo site)."""

from __future__ import annotations

from datetime import datetime
from urllib.request import urlopen

import pytest

from crawlers.extract import extract, strip_site_suffix, to_iso
from pesquisa.demo.site import article_url
from tests.conftest import Site

OUTLETS = ["elcomercio", "larepublica", "rpp", "elperuano", "infobae", "gobpe"]


@pytest.mark.parametrize("outlet", OUTLETS)
def test_extracts_text_title_and_date(site: Site, outlet: str) -> None:
    article = next(a for a in site.articles if a["outlet"] == outlet and a["language"] == "es")
    url = article_url(article, site.base_url)
    with urlopen(url) as response:
        page = response.read().decode("utf-8")
    found = extract(page, url)
    assert found is not None
    assert found.title == article["title"]
    for paragraph in (article["paragraphs"][0], article["paragraphs"][-1]):
        assert paragraph[:80] in found.text
    for chrome in ("Política de privacidad", "Suscríbete", "Todos los derechos reservados"):
        assert chrome not in found.text
    assert found.published is not None
    expected = datetime.fromisoformat(article["published"])
    got = datetime.fromisoformat(found.published)
    assert got.tzinfo is not None
    assert got.date() == expected.date()
    if outlet != "gobpe":  # gob.pe prints only a Spanish date; the crawler issue parses it
        assert got == expected
    assert found.language == "es"
    assert found.canonical_url is not None and found.canonical_url.startswith(site.base_url)


def test_a_page_without_an_article_is_none() -> None:
    page = "<html><body><nav><a href='/'>Inicio</a></nav></body></html>"
    assert extract(page, "http://x/") is None


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Fiscalía allana sedes de Provías | El Comercio Perú", "Fiscalía allana sedes de Provías"),
        ("Capturan a cabecilla de Los Pulpos - infobae", "Capturan a cabecilla de Los Pulpos"),
        ("Pleno | Congreso", "Pleno | Congreso"),  # too short to be a title plus a suffix
    ],
)
def test_site_suffix(title: str, expected: str) -> None:
    assert strip_site_suffix(title) == expected


def test_dates_become_lima_time() -> None:
    assert to_iso("2026-09-28T16:57:00Z") == "2026-09-28T11:57:00-05:00"
    assert to_iso("2026-09-28") == "2026-09-28T00:00:00-05:00"
    assert to_iso("not a date") is None
    assert to_iso(None) is None
