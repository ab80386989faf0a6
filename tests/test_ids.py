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
