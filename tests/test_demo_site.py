"""Tests for the bundled offline demo site (pesquisa.demo)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
import pytest
import trafilatura

from pesquisa.demo.site import DemoServer, article_url, build_site, load_articles

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def _text(article: dict[str, Any]) -> str:
    return " ".join([article["title"], article["summary"], *article["paragraphs"]])


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DemoServer, list[dict[str, Any]]]]:
    root = tmp_path_factory.mktemp("demo-site")
    server = DemoServer(root)
    sources = build_site(root, server.base_url)
    with server:
        yield server, sources


# --------------------------------------------------------------------------- corpus


def test_corpus_requirements() -> None:
    articles = load_articles()
    assert len(articles) >= 34
    assert Counter(a["outlet"] for a in articles) == {
        "elcomercio": 7,
        "larepublica": 7,
        "rpp": 7,  # one is a syndicated copy of an El Peruano (Andina) story
        "elperuano": 5,
        "infobae": 5,
        "gobpe": 4,
    }
    assert sum("corrupción" in _text(a) for a in articles) >= 20
    assert any("corrupción" in a["title"] for a in articles)
    assert sum("Provías" in _text(a) for a in articles) == 1
    assert sum("Pataz" in _text(a) for a in articles) == 1
    assert sum(bool(re.search(r"\bhuaicos?\b", _text(a), re.I)) for a in articles) == 1
    assert Counter(a["language"] for a in articles) == {"es": 34, "en": 1}
    for art in articles:
        assert 4 <= len(art["paragraphs"]) <= 8, art["slug"]
        assert 180 <= len(" ".join(art["paragraphs"]).split()) <= 400, art["slug"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", art["slug"]), art["slug"]
        assert re.fullmatch(r"2026-(09|10|11)-\d\dT\d\d:\d\d:00-05:00", art["published"])
        assert "2026-09-01" <= art["published"][:10] <= "2026-11-25"
    assert all(a["outlet"] != "gobpe" or a["title"].startswith("Fiscalía") for a in articles)


def test_article_url_patterns() -> None:
    base = "http://127.0.0.1:8000"
    patterns = {
        "elcomercio": r"/elcomercio/[a-z]+/[a-z0-9-]+-noticia/",
        "larepublica": r"/larepublica/[a-z]+/2026/\d\d/\d\d/[a-z0-9-]+-\d+",
        "rpp": r"/rpp/[a-z]+/[a-z0-9-]+-noticia-\d+",
        "elperuano": r"/elperuano/noticia/\d+-[a-z0-9-]+",
        "infobae": r"/infobae/peru/2026/\d\d/\d\d/[a-z0-9-]+/",
        "gobpe": r"/gobpe/institucion/mpfn/noticias/\d+-[a-z0-9-]+",
    }
    for art in load_articles():
        url = article_url(art, base)
        assert url.startswith(base)
        assert re.fullmatch(patterns[art["outlet"]], url[len(base) :]), url


# --------------------------------------------------------------------------- sources & feeds


def test_sources_shape(demo: tuple[DemoServer, list[dict[str, Any]]]) -> None:
    server, sources = demo
    assert [s["id"] for s in sources] == [
        "demo-elcomercio",
        "demo-larepublica",
        "demo-rpp",
        "demo-sitemap",
    ]
    for source in sources:
        assert set(source) == {"id", "name", "kind", "urls", "schedule", "enabled"}
        assert source["enabled"] is True
        assert source["schedule"] == "*/30 * * * *"
        assert all(u.startswith(server.base_url) for u in source["urls"])
    assert [s["kind"] for s in sources] == ["feed", "feed", "feed", "sitemap"]
    assert sources[-1]["urls"] == [f"{server.base_url}/sitemap.xml"]


@pytest.mark.parametrize(
    ("source_id", "version", "entries", "unique"),
    [
        ("demo-elcomercio", "rss20", 7, 7),
        ("demo-larepublica", "rss20", 8, 7),
        ("demo-rpp", "atom10", 7, 7),
    ],
)
def test_feeds_parse_and_links_resolve(
    demo: tuple[DemoServer, list[dict[str, Any]]],
    source_id: str,
    version: str,
    entries: int,
    unique: int,
) -> None:
    _, sources = demo
    (feed_url,) = next(s for s in sources if s["id"] == source_id)["urls"]
    status, ctype, body = _get(feed_url)
    assert status == 200
    assert ctype.startswith("application/xml")
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == version
    assert len(parsed.entries) == entries
    links = [e.link for e in parsed.entries]
    assert len({link.split("?")[0] for link in links}) == unique
    for entry in parsed.entries:
        assert entry.title and entry.published_parsed and entry.get("author")
        status, ctype, html = _get(entry.link)
        assert status == 200
        assert ctype == "text/html; charset=utf-8"
        assert entry.title.split(":")[0] in html.decode("utf-8")


def test_larepublica_feed_has_tracking_duplicate(
    demo: tuple[DemoServer, list[dict[str, Any]]],
) -> None:
    server, _ = demo
    parsed = feedparser.parse(_get(f"{server.base_url}/larepublica/rss/politica.xml")[2])
    tracked = [e.link for e in parsed.entries if "utm_source=rss" in e.link]
    assert len(tracked) == 1
    assert tracked[0].endswith("?utm_source=rss&utm_medium=feed")
    assert tracked[0].split("?")[0] in [e.link for e in parsed.entries]
    assert all(e.get("tags") for e in parsed.entries)


# --------------------------------------------------------------------------- sitemaps & robots


def test_sitemaps(demo: tuple[DemoServer, list[dict[str, Any]]]) -> None:
    server, _ = demo
    index = ET.fromstring(_get(f"{server.base_url}/sitemap.xml")[2])
    assert index.tag == f"{SM}sitemapindex"
    children = [loc.text or "" for loc in index.iter(f"{SM}loc")]
    assert children == [
        f"{server.base_url}/sitemaps/news.xml",
        f"{server.base_url}/sitemaps/pages.xml",
    ]

    news = ET.fromstring(_get(children[0])[2])
    urls = news.findall(f"{SM}url")
    assert len(urls) == 14
    languages: Counter[str | None] = Counter()
    for url in urls:
        loc = url.findtext(f"{SM}loc") or ""
        assert urlsplit(loc).path.split("/")[1] in {"elperuano", "infobae", "gobpe"}
        block = url.find(f"{NEWS}news")
        assert block is not None
        assert block.findtext(f"{NEWS}publication/{NEWS}name")
        assert (block.findtext(f"{NEWS}publication_date") or "").endswith("-05:00")
        assert block.findtext(f"{NEWS}title")
        languages[block.findtext(f"{NEWS}publication/{NEWS}language")] += 1
        assert _get(loc)[0] == 200
    assert languages == {"es": 13, "en": 1}

    pages = ET.fromstring(_get(children[1])[2])
    page_urls = [loc.text or "" for loc in pages.iter(f"{SM}loc")]
    assert len(page_urls) == 4
    assert sum("/privado/" in u for u in page_urls) == 1
    for page_url in page_urls:
        assert _get(page_url)[0] == 200


def test_robots_blocks_private_area(demo: tuple[DemoServer, list[dict[str, Any]]]) -> None:
    server, _ = demo
    status, ctype, body = _get(f"{server.base_url}/robots.txt")
    assert status == 200 and ctype.startswith("text/plain")
    assert "Disallow: /privado/" in body.decode()
    robots = RobotFileParser()
    robots.parse(body.decode().splitlines())
    assert not robots.can_fetch("PesquisaBot", f"{server.base_url}/privado/borradores/")
    assert robots.can_fetch("PesquisaBot", f"{server.base_url}/rpp/rss.xml")
    article = load_articles()[0]
    assert robots.can_fetch("PesquisaBot", article_url(article, server.base_url))
    assert robots.site_maps() == [f"{server.base_url}/sitemap.xml"]


def test_missing_paths_and_listings_are_404(
    demo: tuple[DemoServer, list[dict[str, Any]]],
) -> None:
    server, _ = demo
    for path in ("/no-existe", "/elperuano/noticia/"):
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(server.base_url + path)
        assert err.value.code == 404


# --------------------------------------------------------------------------- extraction

FOOTER_AND_CHROME = (
    "Todos los derechos reservados",
    "Te puede interesar",
    "Te recomendamos",
    "Política de cookies",
    "Utilizamos cookies",
    "Usamos cookies",
    "Newsletter",
    "Plataforma digital única",
    "Términos y condiciones",
    "Libro de reclamaciones",
)


@pytest.mark.parametrize("outlet", ["elcomercio", "rpp", "gobpe", "infobae"])
def test_trafilatura_extracts_body_only(
    demo: tuple[DemoServer, list[dict[str, Any]]], outlet: str
) -> None:
    server, _ = demo
    article = next(a for a in load_articles() if a["outlet"] == outlet)
    url = article_url(article, server.base_url)
    html = _get(url)[2].decode("utf-8")
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    assert doc is not None
    data: dict[str, Any] = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = data["text"]
    for paragraph in (article["paragraphs"][0], article["paragraphs"][-1]):
        assert paragraph[:80] in text
    for chrome in FOOTER_AND_CHROME:
        assert chrome not in text, chrome
    assert data["date"] == article["published"][:10]
    assert article["title"] in (data["title"] or "")


def test_gobpe_date_is_visible_text_only(demo: tuple[DemoServer, list[dict[str, Any]]]) -> None:
    server, _ = demo
    article = next(a for a in load_articles() if a["published"].startswith("2026-09-25"))
    assert article["outlet"] == "gobpe"
    html = _get(article_url(article, server.base_url))[2].decode("utf-8")
    assert "25 de setiembre de 2026 - 11:57 a. m." in html
    assert "application/ld+json" not in html
    assert "published_time" not in html
    assert "<time" not in html
    assert article["published"] not in html
    assert "- Noticias - Ministerio Público - Gobierno del Perú</title>" in html


def test_titles_carry_outlet_suffixes(demo: tuple[DemoServer, list[dict[str, Any]]]) -> None:
    server, _ = demo
    suffixes = {
        "elcomercio": " | El Comercio Perú",
        "larepublica": " | La República",
        "rpp": " | RPP Noticias",
        "infobae": " - infobae",
    }
    for article in load_articles():
        html = _get(article_url(article, server.base_url))[2].decode("utf-8")
        assert f'<link rel="canonical" href="{article_url(article, server.base_url)}">' in html
        suffix = suffixes.get(article["outlet"])
        if suffix:
            assert 'property="og:title"' in html
            assert f'{suffix}">' in html, article["slug"]
        assert f'lang="{article["language"]}"' in html


def test_build_is_idempotent(tmp_path: Path) -> None:
    first = build_site(tmp_path, "http://127.0.0.1:1/")
    second = build_site(tmp_path, "http://127.0.0.1:1")
    assert first == second
    assert (tmp_path / "robots.txt").is_file()
    assert (tmp_path / "sitemaps" / "news.xml").is_file()
