"""Canonical URLs and stable ids."""

from __future__ import annotations

import pytest

from pesquisa.ids import canonical_url, document_id, entity_id, fold


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://ElComercio.PE/politica/x-noticia/", "https://elcomercio.pe/politica/x-noticia"),
        ("https://rpp.pe/a?utm_source=tw&utm_medium=x&fbclid=1", "https://rpp.pe/a"),
        ("https://rpp.pe/a?b=2&a=1#comentarios", "https://rpp.pe/a?a=1&b=2"),
        ("http://andina.pe:80//agencia//noticia-1.aspx", "http://andina.pe/agencia/noticia-1.aspx"),
        ("http://127.0.0.1:8765/x/", "http://127.0.0.1:8765/x"),
        ("https://gob.pe/", "https://gob.pe/"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


AMP_ORIGINAL = "https://elcomercio.pe/politica/fiscalia-allana-noticia"


@pytest.mark.parametrize(
    "variant",
    [
        "https://elcomercio.pe/politica/fiscalia-allana-noticia/amp/",
        "https://elcomercio.pe/politica/fiscalia-allana-noticia/amp",
        "https://elcomercio.pe/amp/politica/fiscalia-allana-noticia",
        "https://elcomercio.pe/AMP/politica/fiscalia-allana-noticia/",
        "https://amp.elcomercio.pe/politica/fiscalia-allana-noticia",
        "https://elcomercio.pe/politica/fiscalia-allana-noticia?outputType=amp",
        "https://elcomercio.pe/politica/fiscalia-allana-noticia?amp=1",
        "https://elcomercio.pe/politica/fiscalia-allana-noticia?amp",
        "https://elcomercio.pe/politica/fiscalia-allana-noticia.amp",
        "https://amp.elcomercio.pe/amp/politica/fiscalia-allana-noticia/amp/?amp=true&utm_source=x",
    ],
)
def test_amp_variants_share_the_original_id(variant: str) -> None:
    assert canonical_url(variant) == AMP_ORIGINAL
    assert document_id(variant) == document_id(AMP_ORIGINAL)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://andina.pe/noticia-123.amp.html", "https://andina.pe/noticia-123.html"),
        # words that contain "amp", or an `amp` that is the whole path or a value, are not AMP
        ("https://rpp.pe/politica/campana-amparo", "https://rpp.pe/politica/campana-amparo"),
        ("https://rpp.pe/politica/amparo/nota", "https://rpp.pe/politica/amparo/nota"),
        ("https://rpp.pe/amp", "https://rpp.pe/amp"),
        ("https://rpp.pe/temas/amp/nota", "https://rpp.pe/temas/amp/nota"),
        ("https://rpp.pe/buscar?q=amp", "https://rpp.pe/buscar?q=amp"),
        ("https://rpp.pe/a?amp=0", "https://rpp.pe/a?amp=0"),
        ("https://rpp.pe/archivo.ampliado", "https://rpp.pe/archivo.ampliado"),
        ("https://rpp.pe/.amp", "https://rpp.pe/.amp"),
        ("https://amp.pe/nota", "https://amp.pe/nota"),
        ("https://campo.amp.pe/nota", "https://campo.amp.pe/nota"),
        ("http://127.0.0.1:8765/amp/x", "http://127.0.0.1:8765/x"),
    ],
)
def test_amp_markers_only(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_document_id_is_sha256_of_the_canonical_url() -> None:
    import hashlib

    a = document_id("https://larepublica.pe/politica/2026/11/20/nota-1?utm_source=rss")
    b = document_id("https://larepublica.pe/politica/2026/11/20/nota-1/")
    assert a == b == hashlib.sha256(
        b"https://larepublica.pe/politica/2026/11/20/nota-1"
    ).hexdigest()
    assert document_id("https://larepublica.pe/politica/2026/11/20/nota-2") != a


def test_fold_and_entity_ids() -> None:
    assert fold("Corrupción ÑANDÚ") == "corrupcion nandu"
    assert entity_id("PER", "José Domingo Pérez") == "per:jose-domingo-perez"
    expected = "org:los-cuellos-blancos-del-puerto"
    assert entity_id("ORG", "Los Cuellos Blancos del Puerto") == expected
