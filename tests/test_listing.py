"""listing, api and bulletin spiders: incremental paging, --since backfill, PDFs, bad fields."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from crawlers.items import ArticleItem
from pesquisa.errors import FixInput
from pesquisa.ids import document_id
from pesquisa.sources import Source, load_source_file, parse_source
from pesquisa.store import NewDocument, Store
from tests.pdfs import text_pdf
from tests.replay import Page, load_fixture, replay

CONFIG = Path(__file__).parent.parent / "config" / "sources"
MPFN = "https://www.gob.pe/institucion/mpfn/noticias"


def remember(store_path: Path, items: list[ArticleItem]) -> None:
    """Store items as the crawl's pipeline would, so that the next run knows them."""
    with Store(store_path) as store:
        for item in items:
            store.save_document(NewDocument(
                url=item.url, canonical_url=item.canonical_url,
                id=document_id(item.canonical_url), source=item.source, title=item.title,
                text=item.text, published=item.published,
            ))


def mpfn() -> tuple[Source, dict[str, Page]]:
    pages, _ = load_fixture("mpfn-noticias")
    return load_source_file(CONFIG / "mpfn-noticias.yml"), pages


def test_a_fresh_listing_pages_until_an_empty_sheet(tmp_path: Path) -> None:
    source, pages = mpfn()
    result = replay(source, pages, tmp_path / "store.db")
    sheets = [url for url in result.requested if "/noticias/" not in url]
    assert sheets == [MPFN, f"{MPFN}?sheet=2", f"{MPFN}?sheet=3"]
    assert len(result.items) == 3 and result.missing == []


def test_listing_stops_at_a_page_of_seen_items(tmp_path: Path) -> None:
    source, pages = mpfn()
    store = tmp_path / "store.db"
    first = replay(source, pages, store)
    # The two articles of sheet 1 are stored; the one on sheet 2 is not.
    remember(store, [i for i in first.items if (i.published or "") >= "2026-09-27"])
    again = replay(source, pages, store)
    assert again.requested == [MPFN]  # sheet 1 holds only known cards: sheet 2 is not read
    assert again.items == []


def test_since_pages_back_past_seen_items(tmp_path: Path) -> None:
    source, pages = mpfn()
    store = tmp_path / "store.db"
    remember(store, [i for i in replay(source, pages, store).items
                     if (i.published or "") >= "2026-09-27"])
    back = replay(source, pages, store, since=date(2026, 9, 20))
    assert [i.published for i in back.items] == ["2026-09-25T09:05:00-05:00"]
    assert f"{MPFN}?sheet=3" in back.requested
    # A day after that card's: sheet 2 is read, its older card skipped, and paging stops.
    later = replay(source, pages, store, since=date(2026, 9, 26))
    assert later.items == []
    assert later.requested == [MPFN, f"{MPFN}?sheet=2"]


def test_api_paging_stops_at_the_last_page(tmp_path: Path) -> None:
    source = load_source_file(CONFIG / "tc-sentencias.yml")
    pages, _ = load_fixture("tc-sentencias")
    result = replay(source, pages, tmp_path / "store.db")
    api = [url for url in result.requested if "cronologico" in url]
    assert {url.rsplit("page=", 1)[1] for url in api} == {"1", "2"}  # num_pages: 2
    assert not any("page=3" in url for url in result.requested)
    assert len(result.items) == 4


def test_api_stops_at_a_page_of_known_results(tmp_path: Path) -> None:
    source = load_source_file(CONFIG / "tc-sentencias.yml")
    pages, _ = load_fixture("tc-sentencias")
    store = tmp_path / "store.db"
    remember(store, replay(source, pages, store).items)
    again = replay(source, pages, store)
    assert again.items == []
    assert not any("page=2" in url or url.endswith(".pdf") for url in again.requested)


BULLETIN = {
    "id": "boletin-prueba", "name": "Boletín de prueba", "kind": "bulletin",
    "urls": ["https://www.ejemplo.gob.pe/normas", "https://www.ejemplo.gob.pe/anexo.pdf"],
    "schedule": "0 7 * * *", "items": "li.norma", "detail": "a.ver::attr(href)",
    "title": "h3", "date": "time::attr(datetime)", "next_page": "a[rel=next]",
}
LISTING = """<html><body><ul>
<li class="norma"><h3>Resolución N° 045-2026-MP-FN</h3><time datetime="2026-09-28 11:57:00">
28 de setiembre</time><a class="ver" href="/normas/45">Ver</a></li>
</ul></body></html>"""
DETAIL = """<html><body><h1>Resolución</h1><a href="/cdn/res-045.pdf">Descargar</a></body></html>"""
TEXT = ("Resolución de la Fiscalía de la Nación. Designan fiscal provincial en la Fiscalía "
        "Especializada contra la Criminalidad Organizada de Lima.\nRegístrese y comuníquese.")


def test_bulletin_reads_pdfs_from_cards_detail_pages_and_start_urls(tmp_path: Path) -> None:
    source = parse_source(BULLETIN, tmp_path / "boletin.yml")
    pdf = text_pdf(TEXT, title="Microsoft Word - res045.docx")
    pages = {
        "https://www.ejemplo.gob.pe/normas": Page(LISTING.encode()),
        "https://www.ejemplo.gob.pe/normas/45": Page(DETAIL.encode()),
        "https://www.ejemplo.gob.pe/cdn/res-045.pdf": Page(pdf, "application/pdf"),
        "https://www.ejemplo.gob.pe/anexo.pdf": Page(pdf, "application/pdf"),
    }
    result = replay(source, pages, tmp_path / "store.db")
    got = {item.url: item for item in result.items}
    card = got["https://www.ejemplo.gob.pe/cdn/res-045.pdf"]
    assert card.title == "Resolución N° 045-2026-MP-FN"  # the card's, not the PDF's metadata
    assert card.published == "2026-09-28T11:57:00-05:00"  # the card's, not the PDF's creation
    assert card.content_type == "application/pdf" and "Criminalidad Organizada" in card.text
    assert card.link == "https://www.ejemplo.gob.pe/normas/45"  # known by its page next time
    assert "https://www.ejemplo.gob.pe/anexo.pdf" in got  # a PDF named as a start URL
    store = tmp_path / "store.db"
    remember(store, result.items)
    with Store(store) as db:
        db.remember_link(document_id(card.link), card.link, document_id(card.canonical_url))
    assert replay(source, pages, store).requested == ["https://www.ejemplo.gob.pe/normas"]


def test_pdf_requests_lift_the_page_size_limit(tmp_path: Path) -> None:
    from scrapy.utils.test import get_crawler

    from crawlers.spiders.bulletin import BulletinSpider
    from crawlers.spiders.paging import Hints

    source = parse_source(BULLETIN, tmp_path / "boletin.yml")
    crawler = get_crawler(BulletinSpider, {"PESQUISA_MAX_PDF_BYTES": 12345})
    spider = BulletinSpider.from_crawler(crawler, source=source, store_path=str(tmp_path / "s"))
    try:
        request = spider.pdf_request("https://www.ejemplo.gob.pe/x.pdf", Hints())
        assert request is not None and request.meta["download_maxsize"] == 12345
    finally:
        spider.closed("finished")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": "li[["}, "items"),
        ({"link": None}, "link"),
        ({"page_param": "sheet", "next_page": "a.next"}, "(kind)"),
        ({"max_pages": "muchas"}, "max_pages"),
        ({"selectors": "typo"}, "selectors"),
        ({"article": {"title": "xpath://h1[", "body": "main"}}, "article.title"),
    ],
)
def test_a_bad_kind_field_is_one_clear_line(tmp_path: Path, change: dict, field: str) -> None:
    data = yaml.safe_load((CONFIG / "mpfn-noticias.yml").read_text(encoding="utf-8"))
    data.update(change)
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FixInput) as caught:
        load_source_file(path)
    message = caught.value.message
    assert message.startswith(f"[E203] invalid source file {path}: ")
    assert "\n" not in message
    if field != "(kind)":
        assert f": {field}: " in message
    else:
        assert "next_page and page_param exclude each other" in message


def test_api_title_format_must_name_known_fields(tmp_path: Path) -> None:
    data = yaml.safe_load((CONFIG / "tc-sentencias.yml").read_text(encoding="utf-8"))
    data["title_format"] = "{tipo} {numero}"
    with pytest.raises(FixInput, match=r"title_format names unknown fields: numero"):
        parse_source(data, tmp_path / "tc.yml")


@pytest.mark.parametrize("value", ["2026-13-01", "ayer", "2999-01-01"])
def test_crawl_since_rejects_a_bad_date_in_one_line(tmp_path: Path, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pesquisa", "--data-dir", str(tmp_path), "crawl", "--since", value],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pesquisa: error: [E703] invalid parameter "
                                                    "--since")
