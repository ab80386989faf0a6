"""Spanish dates as Peruvian sites print them, and the publication date found in a page."""

from __future__ import annotations

from datetime import datetime

import pytest
from lxml import html

from crawlers.dates import find_dates, page_date, parse_spanish_date
from pesquisa.lima import LIMA


def lima(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LIMA)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("28 de setiembre de 2026 - 11:57 a. m.", lima(2026, 9, 28, 11, 57)),
        ("28 de septiembre de 2026", lima(2026, 9, 28)),
        ("Lunes 23 de noviembre de 2026 | 8:45 p. m.", lima(2026, 11, 23, 20, 45)),
        ("lunes, 23 de noviembre de 2026 - 08:45 pm", lima(2026, 11, 23, 20, 45)),
        ("Miércoles 2 de diciembre de 2026", lima(2026, 12, 2)),
        ("Sábado 5 de diciembre del 2026, 7:05 a.m.", lima(2026, 12, 5, 7, 5)),
        ("23/11/2026 20:45", lima(2026, 11, 23, 20, 45)),
        ("23/11/2026 - 08:45 p.m.", lima(2026, 11, 23, 20, 45)),
        ("23.11.2026", lima(2026, 11, 23)),
        ("23-11-2026", lima(2026, 11, 23)),
        ("5/1/26", lima(2026, 1, 5)),
        ("Actualizado el 5 de enero de 2026, 10:35 am", lima(2026, 1, 5, 10, 35)),
        ("5 de enero de 2026, 12:00 m.", lima(2026, 1, 5, 12, 0)),  # mediodía
        ("5 de enero de 2026 12:30 p. m.", lima(2026, 1, 5, 12, 30)),
        ("5 de enero de 2026 12:30 a. m.", lima(2026, 1, 5, 0, 30)),
        ("5 de enero de 2026 9:15 PM", lima(2026, 1, 5, 21, 15)),
        ("5 de enero de 2026 9:15 p.m.", lima(2026, 1, 5, 21, 15)),
        ("24 nov. 2026 | 10:30 h", lima(2026, 11, 24, 10, 30)),  # RPP
        ("3 set. 2026", lima(2026, 9, 3)),
        ("3 sept. 2026 18:00 hrs.", lima(2026, 9, 3, 18, 0)),
        ("3 sep 2026", lima(2026, 9, 3)),
        ("Publicado: 14 de Octubre de 2026 a las 9:05 p. m.", lima(2026, 10, 14, 21, 5)),
        ("LIMA, 1 DE MARZO DE 2026", lima(2026, 3, 1)),
        ("29 de febrero de 2028", lima(2028, 2, 29)),  # a leap year
        ("2026-11-23T15:00:00Z", lima(2026, 11, 23, 10, 0)),  # ISO with a zone: converted
        ("2026-11-23 10:00", lima(2026, 11, 23, 10, 0)),
        ("Infobae: 12 de octubre de 2026, 4:20 p. m. PET", lima(2026, 10, 12, 16, 20)),
    ],
)
def test_parses_peruvian_dates(text: str, expected: datetime) -> None:
    got = parse_spanish_date(text)
    assert got == expected
    assert got is not None and got.tzinfo is not None
    assert got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sin fecha",
        "31 de febrero de 2026",  # no such day
        "29 de febrero de 2026",  # not a leap year
        "32/01/2026",
        "12/13/2026",  # month first is not how Peru writes dates
        "28 de setiembre de 2026 - 13:57 p. m.",  # 13 p. m. is nonsense
        "28 de setiembre de 2026 - 25:10",
        "5 de enero de 2026 9:00 m.",  # "m." means noon only at 12
        "15 de brumario de 2026",
        "3.5 millones de soles",
        "Expediente 00123-2026-0-1801",
        "el 12 de mayo",  # no year: too vague to store
        "1 de enero de 1850",  # not a news date
    ],
)
def test_nonsense_is_none(text: str) -> None:
    assert parse_spanish_date(text) is None


def test_finds_every_date_in_order() -> None:
    text = "Publicado el 3 de enero de 2026. Actualizado el 4 de enero de 2026, 9:00 a. m."
    found = [m.when for m in find_dates(text)]
    assert found == [lima(2026, 1, 3), lima(2026, 1, 4, 9, 0)]


def page(body: str) -> object:
    return html.fromstring(f"<html><body>{body}</body></html>")


def test_gobpe_date_under_the_title() -> None:
    tree = page(
        """<div class="top-bar">Lunes 30 de noviembre de 2026</div>
        <main><article><p>Nota de prensa</p><h1>Fiscalía allana sedes</h1>
        <span class="block">28 de setiembre de 2026 - 11:57 a. m.</span>
        <p>El 15 de agosto de 2026 se inició la investigación, dijo el fiscal.</p>
        </article>
        <aside class="related-news"><ul><li>1 de octubre de 2026 - 9:00 a. m.</li></ul></aside>
        </main>"""
    )
    assert page_date(tree) == lima(2026, 9, 28, 11, 57)


def test_published_wins_over_updated() -> None:
    tree = page(
        """<article><h1>Título de la nota</h1>
        <div class="meta"><span class="update">Actualizado el 5 de enero de 2026, 10:35 am</span>
        <span>Publicado el 4 de enero de 2026, 8:00 pm</span></div></article>"""
    )
    assert page_date(tree) == lima(2026, 1, 4, 20, 0)


def test_one_line_with_both_dates() -> None:
    tree = page(
        "<article><h1>Título</h1><p class='fecha'>Actualizado: 6/1/2026 09:00 | "
        "Publicado: 5/1/2026 18:30</p></article>"
    )
    assert page_date(tree) == lima(2026, 1, 5, 18, 30)


def test_related_lists_menus_and_footer_are_ignored() -> None:
    tree = page(
        """<header class="site"><span>Hoy: 30 de noviembre de 2026</span></header>
        <article><h1>Sin fecha visible</h1><p>Texto.</p></article>
        <section class="te-recomendamos relacionadas"><time>2 de octubre de 2026</time></section>
        <footer>© 1 de enero de 2026</footer>"""
    )
    assert page_date(tree) is None


def test_time_element_with_datetime_attribute() -> None:
    tree = page(
        "<article><h1>Título</h1><time datetime='2026-11-24T15:30:00Z'>hace 2 horas</time>"
        "</article>"
    )
    assert page_date(tree) == lima(2026, 11, 24, 10, 30)


def test_the_date_nearest_the_title_wins() -> None:
    tree = page(
        """<article><h1>Caso Los Cuellos Blancos</h1>
        <p class="fecha">23/11/2026 20:45</p>
        <p>Audiencia</p><p>1/12/2026</p></article>"""
    )
    assert page_date(tree) == lima(2026, 11, 23, 20, 45)
