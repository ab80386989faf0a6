"""Article extraction on pages shaped like the real outlets' (the bundled demo site)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from urllib.request import urlopen

import pytest
from scrapy.http import HtmlResponse, Request, XmlResponse
from scrapy.utils.test import get_crawler

from crawlers.boilerplate import clean_body
from crawlers.extract import extract, strip_site_suffix, to_iso
from crawlers.spiders.feed import FeedSpider
from pesquisa.demo.site import article_url
from pesquisa.sources import Source
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


# -- titles, dates, authors, sections and languages on pages built here -----------------------

BODY_ES = (
    "La Fiscalía Especializada contra la Criminalidad Organizada allanó este martes las "
    "oficinas de la empresa investigada por presuntos pagos irregulares a funcionarios del "
    "gobierno regional. Según el fiscal a cargo, los documentos incautados serán analizados "
    "por peritos contables durante las próximas semanas, y no se descarta pedir prisión "
    "preventiva para los principales investigados del caso."
)
BODY_EN = (
    "Prosecutors from the organized crime unit raided the offices of the company under "
    "investigation for alleged irregular payments to officials of the regional government. "
    "According to the prosecutor in charge, the seized documents will be analysed by "
    "forensic accountants over the coming weeks, and pre-trial detention has not been ruled "
    "out for the main suspects in the case."
)


def article_page(
    *,
    head: str = "",
    header: str = "",
    h1: str = "Fiscalía allana oficinas de empresa investigada",
    body: str = BODY_ES,
    lang: str = "es",
) -> str:
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
    <title>{h1} | Diario Ejemplo</title>{head}</head><body>
    <nav class="menu"><a href="/">Inicio</a><a href="/politica">Política</a></nav>
    <main><article><h1>{h1}</h1>{header}<div class="body"><p>{body}</p><p>{body}</p></div>
    </article><aside class="relacionadas"><p>Otra nota</p><p>1 de enero de 2020</p></aside>
    </main><footer>Todos los derechos reservados</footer></body></html>"""


def ld(**fields: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(fields)}</script>'


URL = "https://diarioejemplo.pe/politica/fiscalia-allana-oficinas-noticia-123"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Congreso aprueba ley de colaboración eficaz | Gestión",
         "Congreso aprueba ley de colaboración eficaz"),
        ("Gobierno declara emergencia en Pataz - RPP Noticias",
         "Gobierno declara emergencia en Pataz"),
        ("Caso Cócteles: nuevo juicio - La Tercera", "Caso Cócteles: nuevo juicio"),
        ("Condenan a exalcalde por colusión - Perú21", "Condenan a exalcalde por colusión"),
        ("Designan fiscal superior - Noticias - Ministerio Público - Gobierno del Perú",
         "Designan fiscal superior"),
        # " - " that belongs to the title stays
        ("Odebrecht - La ruta del dinero en el Perú", "Odebrecht - La ruta del dinero en el Perú"),
        ("Keiko Fujimori - Fiscalía pide 30 años de prisión",
         "Keiko Fujimori - Fiscalía pide 30 años de prisión"),
        ("El Comercio - Historia de un diario", "El Comercio - Historia de un diario"),
    ],
)
def test_site_suffixes_of_known_outlets(title: str, expected: str) -> None:
    assert strip_site_suffix(title) == expected


def test_site_suffix_from_the_page_and_the_h1() -> None:
    title = "Denuncian cobros en hospital - Sin Fronteras"
    assert strip_site_suffix(title) == title
    assert strip_site_suffix(title, ["Sin Fronteras"]) == "Denuncian cobros en hospital"
    assert strip_site_suffix("Cerrón - Prófugo - Mi Medio", h1="Cerrón - Prófugo") == (
        "Cerrón - Prófugo"
    )


def test_title_order() -> None:
    og = '<meta property="og:title" content="Título de og | Diario Ejemplo">'
    headline = ld(**{"@type": "NewsArticle", "headline": "Título del JSON-LD"})
    found = extract(article_page(head=og + headline), URL)
    assert found is not None and found.title == "Título de og"
    found = extract(article_page(head=headline), URL)
    assert found is not None and found.title == "Título del JSON-LD"
    found = extract(article_page(), URL)
    assert found is not None and found.title == "Fiscalía allana oficinas de empresa investigada"


def test_date_order() -> None:
    json_ld = ld(**{"@type": "NewsArticle", "datePublished": "2026-11-20T10:00:00-05:00"})
    meta = '<meta property="article:published_time" content="2026-11-21T15:00:00Z">'
    visible = '<p class="fecha">22 de noviembre de 2026 - 9:15 p. m.</p>'
    hint = "2026-11-23T08:00:00-05:00"
    cases = [
        (article_page(head=json_ld + meta, header=visible), "2026-11-20T10:00:00-05:00"),
        (article_page(head=meta, header=visible), "2026-11-21T10:00:00-05:00"),
        (article_page(header=visible), hint),  # the feed's date before the printed one
    ]
    for page, expected in cases:
        found = extract(page, URL, published_hint=hint)
        assert found is not None and found.published == expected
    found = extract(article_page(header=visible), URL)
    assert found is not None and found.published == "2026-11-22T21:15:00-05:00"
    dated_url = "https://diarioejemplo.pe/2026/11/24/fiscalia-allana-oficinas/"
    found = extract(article_page(), dated_url)  # htmldate, from the URL
    assert found is not None and found.published == "2026-11-24T00:00:00-05:00"


def test_authors() -> None:
    two = ld(**{"@type": "NewsArticle", "author": [
        {"@type": "Person", "name": "Rosa Quispe"}, {"@type": "Person", "name": "Luis Mamani"}]})
    found = extract(article_page(head=two), URL)
    assert found is not None and found.author == "Rosa Quispe, Luis Mamani"
    meta = '<meta name="author" content="Carmen Huamán">'
    found = extract(article_page(head=meta), URL)
    assert found is not None and found.author == "Carmen Huamán"
    byline = '<div class="article-author">Por <a href="/autor/jp">Jorge Paredes</a></div>'
    found = extract(article_page(header=byline), URL)
    assert found is not None and found.author == "Jorge Paredes"
    found = extract(article_page(), URL, author_hint="Redacción Ejemplo")
    assert found is not None and found.author == "Redacción Ejemplo"
    found = extract(article_page(head=meta), URL, author_hint="Redacción Ejemplo")
    assert found is not None and found.author == "Carmen Huamán"  # the page's own first


def test_sections() -> None:
    meta = '<meta property="article:section" content="Judiciales">'
    found = extract(article_page(head=meta), URL)
    assert found is not None and found.section == "Judiciales"
    section = ld(**{"@type": "NewsArticle", "articleSection": ["Regiones", "Perú"]})
    found = extract(article_page(head=section), URL)
    assert found is not None and found.section == "Regiones"
    crumbs = ld(**{"@type": "BreadcrumbList", "itemListElement": [
        {"@type": "ListItem", "position": 1, "name": "Inicio"},
        {"@type": "ListItem", "position": 2, "name": "Investigación"},
        {"@type": "ListItem", "position": 3, "name": "La nota"}]})
    found = extract(article_page(head=crumbs), URL)
    assert found is not None and found.section == "Investigación"
    found = extract(article_page(), URL)  # /politica/...: a known section word
    assert found is not None and found.section == "Política"
    found = extract(article_page(), "https://diarioejemplo.pe/noticia/fiscalia-123")
    assert found is not None and found.section is None


def test_language_is_detected_and_flagged() -> None:
    found = extract(article_page(body=BODY_EN), URL, expected_language="es")  # lang="es"
    assert found is not None
    assert found.language == "en" and found.language_flagged
    found = extract(article_page(), URL, expected_language="es")
    assert found is not None
    assert found.language == "es" and not found.language_flagged


def test_feed_creator_is_the_author_when_the_page_names_none(tmp_path: Path) -> None:
    source = Source.model_validate(
        {"id": "ejemplo", "name": "Ejemplo", "kind": "feed", "schedule": "*/30 * * * *",
         "urls": ["https://diarioejemplo.pe/rss"]}
    )
    crawler = get_crawler(FeedSpider)
    spider = FeedSpider.from_crawler(crawler, source=source, store_path=str(tmp_path / "s.db"))
    crawler.spider = spider
    feed = f"""<?xml version="1.0"?><rss version="2.0"
        xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Ejemplo</title>
        <item><title>Nota</title><link>{URL}</link><dc:creator>Ana Torres</dc:creator>
        <pubDate>Mon, 23 Nov 2026 15:00:00 GMT</pubDate></item></channel></rss>"""
    feed_url = "https://diarioejemplo.pe/rss"
    response = XmlResponse(url=feed_url, body=feed.encode(), request=Request(feed_url))
    requests = [r for r in spider.parse_feed(response) if isinstance(r, Request)]
    assert [r.cb_kwargs["author"] for r in requests] == ["Ana Torres"]
    page = HtmlResponse(
        url=URL, body=article_page().encode(), encoding="utf-8", request=requests[0]
    )
    items = list(spider.parse_article(page, **requests[0].cb_kwargs))
    assert [(i.author, i.published, i.section) for i in items] == [
        ("Ana Torres", "2026-11-23T10:00:00-05:00", "Política")
    ]


# -- boilerplate in the body (crawlers/boilerplate.py) -----------------------------------------

TITLE = "Fiscalía allana oficinas de empresa investigada"
PARAGRAPH = (
    "La Fiscalía Especializada contra la Criminalidad Organizada allanó este martes las "
    "oficinas de la empresa investigada por presuntos pagos irregulares a funcionarios."
)


@pytest.mark.parametrize(
    "furniture",
    [
        "LEE TAMBIÉN | Fiscalía allana la Municipalidad de Chiclayo por presuntos cobros",
        "Lee también: Provías, los contratos que investiga la fiscalía",
        "Te puede interesar ► Extorsión en Lima: las cifras por distrito",
        "Contenido sugerido",
        "Escucha el podcast Informe RPP en Spotify, Apple Podcasts y Google Podcasts.",
        "Síguenos en Google News",
        "Sigue a Exitosa en WhatsApp y recibe las noticias del día.",
        "Suscríbete a nuestro newsletter y recibe las noticias más importantes.",
        "Compartir: Facebook Twitter WhatsApp",
        "Foto: Andina/Difusión",
        "(Foto: archivo)",
        "(FIN) JCR/MAO",
        "(FIN)",
    ],
)
def test_furniture_lines_go(furniture: str) -> None:
    text = f"{PARAGRAPH}\n{furniture}\n{PARAGRAPH}"
    assert clean_body(text, TITLE) == f"{PARAGRAPH}\n{PARAGRAPH}"


def test_the_section_label_and_title_above_the_text_go() -> None:
    text = f"Actualidad\n{TITLE}\nLa investigación apunta a una red de cobros.\n{PARAGRAPH}"
    cleaned = clean_body(text, TITLE, ["Actualidad"])
    assert cleaned == f"La investigación apunta a una red de cobros.\n{PARAGRAPH}"  # dek stays
    # another known section word as the kicker, written in capitals without its accent
    assert clean_body(f"POLITICA\n{TITLE}\n{PARAGRAPH}", TITLE, ["Judiciales", "Política"]) == (
        PARAGRAPH
    )
    assert clean_body(f"{TITLE} {PARAGRAPH}", TITLE) == PARAGRAPH  # run into the first line


def test_a_heading_that_is_not_a_section_stays_above_the_title() -> None:
    # El Peruano's norms print the issuing sector above the norm's number: content.
    text = f"JUSTICIA Y DERECHOS HUMANOS\nRESOLUCIÓN SUPREMA N° 0123-2026-JUS\n{PARAGRAPH}"
    assert clean_body(text, "RESOLUCIÓN SUPREMA N° 0123-2026-JUS", ["Política"]) == text


def test_press_label_and_bare_date_at_the_top_go() -> None:
    dek = "El informe de control señala presunta responsabilidad penal de seis funcionarios."
    text = f"{dek}\nNota de prensa\n28 de setiembre de 2026 - 11:57 a. m.\n{PARAGRAPH}"
    assert clean_body(text, TITLE) == f"{dek}\n{PARAGRAPH}"
    dated = "Lima, 28 de setiembre de 2026"  # a norm's place and date: content
    assert clean_body(f"{dated}\n{PARAGRAPH}", TITLE) == f"{dated}\n{PARAGRAPH}"


def test_more_from_andina_goes_with_its_headlines_and_the_signature() -> None:
    text = (
        f"{PARAGRAPH}\nMás en Andina:\n"
        "Contraloría identifica perjuicio de S/ 3.2 millones en obra de saneamiento en Piura\n"
        "- Ejecutivo prorroga estado de emergencia en Lima Metropolitana y el Callao\n"
        "(FIN) JCR/MAO"
    )
    assert clean_body(text, TITLE) == PARAGRAPH
    assert clean_body(f"{PARAGRAPH} (FIN) KHC/MAO", TITLE) == PARAGRAPH  # closing a paragraph
    ending = f"{PARAGRAPH}\nLa huelga de transportistas no tiene (fin) del"
    assert clean_body(ending, TITLE) == ending  # lower case: a word, not a signature


@pytest.mark.parametrize(
    "sentence",
    [
        "En diálogo con RPP, el abogado del gobernador afirmó que apelará la medida.",
        "Lima, nov. 20 (ANDINA). El Primer Juzgado dictó 18 meses de prisión preventiva.",
        "Según informó la agencia Andina, el operativo se realizó en Comas.",
        "Lee también el informe completo quien quiera conocer los detalles del caso.",
        "Escucha la grabación difundida por la fiscalía, en la que se oye al investigado.",
        "Síguenos, le dijo el agente al testigo antes de subir al patrullero.",
        "Foto: la imagen que entregó el denunciante muestra al funcionario. Es clave.",
        "Compartir información reservada es delito, recordó la fiscal.",
        "El fin de la investigación (FIN de etapa) llegará en marzo.",
        "Actualidad",  # a section word in the middle of the text is not a top label
        TITLE,  # nor the title, below the first paragraph
        "Más información sobre la banda",  # a subheading
    ],
)
def test_real_sentences_stay(sentence: str) -> None:
    text = f"{PARAGRAPH}\n{sentence}\n{PARAGRAPH}"
    assert clean_body(text, TITLE, ["Actualidad"]) == text


def test_extract_removes_the_furniture_of_a_page() -> None:
    body = (
        f"<p>{BODY_ES}</p><p><strong>LEE TAMBIÉN | </strong><a href='/x'>Otra nota</a></p>"
        f"<p>{BODY_ES}</p><p>Escucha el podcast Informe RPP en Spotify.</p>"
        "<p>En diálogo con RPP, el fiscal confirmó la diligencia.</p><p>(FIN) JCR/MAO</p>"
    )
    page = article_page(header='<a class="kicker" href="/politica">Política</a>', body="")
    page = page.replace('<div class="body"><p></p><p></p></div>', f'<div class="body">{body}</div>')
    found = extract(page, URL)
    assert found is not None
    assert found.text.startswith(BODY_ES[:60])
    assert "En diálogo con RPP, el fiscal confirmó la diligencia." in found.text
    for furniture in ("LEE TAMBIÉN", "Escucha el podcast", "(FIN)", found.title):
        assert furniture not in found.text
