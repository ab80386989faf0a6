"""PDF text: the text layer, OCR of scanned pages (tesseract, Spanish), broken files."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawlers.items import ArticleItem
from crawlers.pdf import extract_pdf, pdf_date, tesseract_ready
from crawlers.spiders.feed import FeedSpider
from pesquisa.sources import Source
from tests.pdfs import scanned_pdf, text_pdf

RESOLUTION = (
    "RESOLUCIÓN DE LA FISCALÍA DE LA NACIÓN N.° 2145-2026-MP-FN\n"
    "Lima, 28 de setiembre de 2026\n"
    "VISTO Y CONSIDERANDO: Que, mediante el oficio remitido por la Fiscalía Superior "
    "Coordinadora de las Fiscalías Especializadas contra la Criminalidad Organizada, se "
    "solicita la designación de un fiscal provincial para el despacho de Lima Norte.\n"
    "SE RESUELVE: Designar al abogado Julián Ñahui Quispe como Fiscal Adjunto Provincial "
    "Titular, con reserva de su plaza de origen."
)
OCR = pytest.mark.skipif(
    not tesseract_ready(), reason="needs tesseract-ocr and tesseract-ocr-spa (make install)"
)


def char_accuracy(expected: str, got: str) -> float:
    """1 - (Levenshtein distance / length), on whitespace-normalized text."""
    a, b = " ".join(expected.split()), " ".join(got.split())
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return 1 - row[len(b)] / max(len(a), 1)


def test_text_layer() -> None:
    found = extract_pdf(text_pdf(RESOLUTION, title="Resolución 2145-2026-MP-FN"))
    assert found is not None
    assert not found.ocr_used
    assert found.pages == 1
    assert found.title == "Resolución 2145-2026-MP-FN"
    assert found.created == "2026-09-28T11:57:00-05:00"
    assert "Julián Ñahui Quispe" in found.text
    assert char_accuracy(RESOLUTION, found.text) > 0.99


def test_pages_are_counted_and_joined() -> None:
    found = extract_pdf(text_pdf("Primera página del boletín.\fSegunda página del boletín."))
    assert found is not None
    assert found.pages == 2
    assert "Primera página" in found.text and "Segunda página" in found.text


@OCR
def test_scanned_pdf_is_ocrd_in_spanish() -> None:
    body = scanned_pdf(RESOLUTION)
    assert extract_pdf(body, ocr=False) is not None  # a readable PDF...
    assert extract_pdf(body, ocr=False).text == ""  # type: ignore[union-attr]  # ...no text
    found = extract_pdf(body)
    assert found is not None
    assert found.ocr_used
    for word in ("Fiscalía", "Criminalidad Organizada", "designación", "setiembre", "Quispe"):
        assert word in found.text
    accuracy = char_accuracy(RESOLUTION, found.text)
    print(f"OCR character accuracy: {accuracy:.3f}")
    assert accuracy > 0.95


@OCR
def test_ocr_page_cap() -> None:
    body = scanned_pdf("Página uno del expediente.\fPágina dos del expediente.")
    found = extract_pdf(body, max_ocr_pages=1)
    assert found is not None and found.pages == 2
    assert "uno" in found.text and "dos" not in found.text


@pytest.mark.parametrize(
    "body",
    [b"", b"not a pdf at all", b"<html><body>404</body></html>", b"%PDF-1.7\n%garbage\x00\xff"],
)
def test_garbage_is_none(body: bytes) -> None:
    assert extract_pdf(body) is None


def test_truncated_pdf_does_not_raise() -> None:
    whole = text_pdf(RESOLUTION * 3, title="Resolución")
    for cut in (len(whole) // 4, len(whole) // 2, len(whole) - 40):
        found = extract_pdf(whole[:cut])
        assert found is None or isinstance(found.text, str)


def test_pdf_dates() -> None:
    assert pdf_date("D:20260928115700-05'00'") == "2026-09-28T11:57:00-05:00"
    assert pdf_date("D:20260928165700Z") == "2026-09-28T11:57:00-05:00"
    assert pdf_date("D:20260928") == "2026-09-28T00:00:00-05:00"
    assert pdf_date("D:20261399") is None
    assert pdf_date(None) is None


# -- the spider: a PDF where an article was expected -------------------------------------------


def spider(tmp_path: Path, **settings: object) -> FeedSpider:
    source = Source.model_validate(
        {"id": "mpfn-normas", "name": "MPFN", "kind": "feed", "urls": ["https://x.gob.pe/rss"],
         "schedule": "0 * * * *"}
    )
    crawler = get_crawler(FeedSpider, settings_dict=settings)
    made = FeedSpider.from_crawler(crawler, source=source, store_path=str(tmp_path / "s.db"))
    crawler.spider = made
    return made


def pdf_response(url: str, body: bytes, kind: str = "application/pdf") -> Response:
    return Response(
        url=url, body=body, headers={"Content-Type": kind}, request=Request(url)
    )


def test_spider_turns_a_pdf_into_a_document(tmp_path: Path) -> None:
    made = spider(tmp_path)
    body = text_pdf(RESOLUTION, title="Microsoft Word - res2145.docx")
    url = "https://x.gob.pe/normas/res-2145.pdf?utm_source=rss"
    items = list(made.parse_article(pdf_response(url, body), published=None, link=url))
    assert len(items) == 1
    item = items[0]
    assert isinstance(item, ArticleItem)
    assert item.content_type == "application/pdf"
    assert item.url == "https://x.gob.pe/normas/res-2145.pdf"
    # a file name as metadata title: the first line stands in
    assert item.title == "RESOLUCIÓN DE LA FISCALÍA DE LA NACIÓN N.° 2145-2026-MP-FN"
    assert item.published == "2026-09-28T11:57:00-05:00"  # the PDF's creation date
    assert item.language == "es" and not item.language_flagged
    assert item.extra == {"pages": 1, "ocr": False}


def test_spider_prefers_hints_and_sniffs_pdfs(tmp_path: Path) -> None:
    made = spider(tmp_path)
    body = text_pdf(RESOLUTION, title="Resolución 2145")
    url = "https://x.gob.pe/normas/descargar?id=2145"
    response = pdf_response(url, body, kind="application/octet-stream")
    items = list(
        made.parse_article(response, published="2026-09-29T08:00:00-05:00", title="Designan")
    )
    assert [(i.title, i.published) for i in items] == [("Designan", "2026-09-29T08:00:00-05:00")]


def test_spider_records_pdfs_without_text(tmp_path: Path) -> None:
    made = spider(tmp_path, PESQUISA_OCR=False)
    url = "https://x.gob.pe/normas/blank.pdf"
    assert list(made.parse_article(pdf_response(url, scanned_pdf("Hola")))) == []
    stats = made.crawler.stats
    assert stats.get_value("pesquisa/last_error") == f"PDF without text ({url})"
    assert list(made.parse_article(pdf_response(url, b"%PDF-1.4 broken"))) == []
    assert stats.get_value("pesquisa/last_error") == f"unreadable PDF ({url})"
    assert stats.get_value("pesquisa/failures") == 2
