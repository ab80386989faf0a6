"""Render the bundled sample articles as an offline news site and serve it on localhost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import jinja2
import yaml

DEMO_DIR = Path(__file__).resolve().parent
ARTICLES_FILE = DEMO_DIR / "articles.yml"
TEMPLATES_DIR = DEMO_DIR / "templates"

OUTLETS: dict[str, str] = {
    "elcomercio": "El Comercio",
    "larepublica": "La República",
    "rpp": "RPP Noticias",
    "elperuano": "El Peruano",
    "infobae": "Infobae",
    "gobpe": "Ministerio Público",
}
FEED_OUTLETS: tuple[str, ...] = ("elcomercio", "larepublica", "rpp")
SITEMAP_OUTLETS: tuple[str, ...] = ("elperuano", "infobae", "gobpe")
REQUIRED_FIELDS: tuple[str, ...] = (
    "outlet",
    "id",
    "slug",
    "section",
    "title",
    "summary",
    "author",
    "published",
    "language",
    "tags",
    "paragraphs",
)
TRACKING_QUERY = "?utm_source=rss&utm_medium=feed"
# Words that the tests expect in exactly one article: keep them out of "related" boxes.
EXCLUSIVE_TERMS: tuple[str, ...] = ("Provías", "Pataz", "huaico")
SCHEDULE = "*/30 * * * *"
SECTION_NAMES: dict[str, str] = {"politica": "Política", "sociedad": "Sociedad"}

MESES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
MESES_CORTOS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "set", "oct", "nov", "dic")


# --------------------------------------------------------------------------- articles


def _parse_dt(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"fecha sin zona horaria: {value!r}")
    return parsed


def load_articles() -> list[dict[str, Any]]:
    """Read and validate ``articles.yml``; return the articles sorted by publication date."""
    raw = yaml.safe_load(ARTICLES_FILE.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError("articles.yml debe contener una lista")
    articles: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError(f"entrada inválida en articles.yml: {item!r}")
        missing = [field for field in REQUIRED_FIELDS if field not in item]
        if missing:
            raise ValueError(f"artículo {item.get('slug')!r} sin campos {missing}")
        if item["outlet"] not in OUTLETS:
            raise ValueError(f"medio desconocido: {item['outlet']!r}")
        key = (str(item["outlet"]), int(item["id"]))
        if key in seen:
            raise ValueError(f"id duplicado en {key[0]}: {key[1]}")
        seen.add(key)
        _parse_dt(str(item["published"]))
        if item.get("modified"):
            _parse_dt(str(item["modified"]))
        articles.append(dict(item))
    articles.sort(key=lambda a: _parse_dt(str(a["published"])))
    return articles


def article_path(article: dict[str, Any]) -> str:
    """Path (with leading slash) of an article on the demo site."""
    outlet = str(article["outlet"])
    slug = str(article["slug"])
    section = str(article["section"])
    ident = int(article["id"])
    published = _parse_dt(str(article["published"]))
    ymd = published.strftime("%Y/%m/%d")
    if outlet == "elcomercio":
        return f"/elcomercio/{section}/{slug}-noticia/"
    if outlet == "larepublica":
        return f"/larepublica/{section}/{ymd}/{slug}-{ident}"
    if outlet == "rpp":
        return f"/rpp/{section}/{slug}-noticia-{ident}"
    if outlet == "elperuano":
        return f"/elperuano/noticia/{ident}-{slug}"
    if outlet == "infobae":
        return f"/infobae/peru/{ymd}/{slug}/"
    if outlet == "gobpe":
        return f"/gobpe/institucion/mpfn/noticias/{ident}-{slug}"
    raise ValueError(f"medio desconocido: {outlet!r}")


def article_url(article: dict[str, Any], base_url: str) -> str:
    """Absolute canonical URL of an article on the demo site."""
    return base_url.rstrip("/") + article_path(article)


# --------------------------------------------------------------------------- formatting


def _fecha_larga(value: str) -> str:
    dt = _parse_dt(value)
    return f"{dt.day} de {MESES[dt.month - 1]} de {dt.year}"


def _hora_ampm(value: str) -> str:
    dt = _parse_dt(value)
    hour = dt.hour % 12 or 12
    suffix = "a. m." if dt.hour < 12 else "p. m."
    return f"{hour}:{dt.minute:02d} {suffix}"


def _fecha_gobpe(value: str) -> str:
    return f"{_fecha_larga(value)} - {_hora_ampm(value)}"


def _fecha_corta(value: str) -> str:
    return _parse_dt(value).strftime("%d/%m/%Y")


def _fecha_rpp(value: str) -> str:
    dt = _parse_dt(value)
    return f"{dt.day} {MESES_CORTOS[dt.month - 1]}. {dt.year} | {dt:%H:%M} h"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fecha_larga"] = _fecha_larga
    env.filters["hora_ampm"] = _hora_ampm
    env.filters["fecha_gobpe"] = _fecha_gobpe
    env.filters["fecha_corta"] = _fecha_corta
    env.filters["fecha_rpp"] = _fecha_rpp
    return env


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _rfc2822(value: str, *, gmt: bool = False) -> str:
    dt = _parse_dt(value)
    if gmt:
        return format_datetime(dt.astimezone(UTC), usegmt=True)
    return format_datetime(dt)


# --------------------------------------------------------------------------- writing


def _write(dest: Path, url_path: str, content: str) -> Path:
    """Write ``content`` so that a static file server answers ``url_path`` with it."""
    relative = url_path.lstrip("/")
    target = dest / relative / "index.html" if url_path.endswith("/") else dest / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    return target


def _with_url(article: dict[str, Any], base_url: str) -> dict[str, Any]:
    enriched = dict(article)
    enriched["url"] = article_url(article, base_url)
    return enriched


def _related(article: dict[str, Any], pool: list[dict[str, Any]]) -> list[dict[str, Any]]:
    others = [
        a
        for a in pool
        if a["outlet"] == article["outlet"]
        and a["id"] != article["id"]
        and not any(term in a["title"] for term in EXCLUSIVE_TERMS)
    ]
    others.sort(key=lambda a: abs(_parse_dt(a["published"]) - _parse_dt(article["published"])))
    return others[:4]


def _rss_elcomercio(items: list[dict[str, Any]], base: str) -> str:
    feed_url = f"{base}/elcomercio/arc/outboundfeeds/rss/index.xml"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" version="2.0">',
        "<channel>",
        "<title>El Comercio Perú</title>",
        f"<link>{xml_escape(base)}/elcomercio/</link>",
        f'<atom:link href={quoteattr(feed_url)} rel="self" type="application/rss+xml"/>',
        "<description>Noticias de El Comercio Perú</description>",
        f"<lastBuildDate>{_rfc2822(items[0]['published'])}</lastBuildDate>",
        "<language>es</language>",
        "<ttl>1</ttl>",
        "<sy:updatePeriod>hourly</sy:updatePeriod>",
        "<sy:updateFrequency>1</sy:updateFrequency>",
    ]
    for art in items:
        parts += [
            "<item>",
            f"<title>{_cdata(art['title'])}</title>",
            f"<link>{xml_escape(art['url'])}</link>",
            f'<guid isPermaLink="true">{xml_escape(art["url"])}</guid>',
            f"<dc:creator>{_cdata(art['author'])}</dc:creator>",
            f"<description>{_cdata(art['summary'])}</description>",
            f"<pubDate>{_rfc2822(art['published'])}</pubDate>",
            "</item>",
        ]
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts)


def _rss_larepublica(items: list[dict[str, Any]], base: str) -> str:
    feed_url = f"{base}/larepublica/rss/politica.xml"
    # The oldest article is re-announced with tracking parameters (deduplication fixture).
    tracked = dict(items[-1])
    tracked["url"] = tracked["url"] + TRACKING_QUERY
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        "<title>La República - Política</title>",
        f"<link>{xml_escape(base)}/larepublica/politica</link>",
        f'<atom:link href={quoteattr(feed_url)} rel="self" type="application/rss+xml"/>',
        "<description>Últimas noticias de política en La República</description>",
        "<language>es-PE</language>",
        f"<lastBuildDate>{_rfc2822(items[0]['published'], gmt=True)}</lastBuildDate>",
    ]
    for art in [*items, tracked]:
        parts += [
            "<item>",
            f"<title>{xml_escape(art['title'])}</title>",
            f"<link>{xml_escape(art['url'])}</link>",
            f'<guid isPermaLink="true">{xml_escape(art["url"])}</guid>',
            f"<description>{xml_escape(art['summary'])}</description>",
            f"<category>{xml_escape(SECTION_NAMES.get(art['section'], art['section']))}</category>",
            f"<dc:creator>{xml_escape(art['author'])}</dc:creator>",
            f"<pubDate>{_rfc2822(art['published'], gmt=True)}</pubDate>",
            "</item>",
        ]
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts)


def _atom_rpp(items: list[dict[str, Any]], base: str) -> str:
    feed_url = f"{base}/rpp/rss.xml"
    updated = max(str(a.get("modified") or a["published"]) for a in items)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="es">',
        "<title>RPP Noticias - Últimas noticias</title>",
        "<subtitle>Noticias del Perú y el mundo</subtitle>",
        f"<id>{xml_escape(base)}/rpp/</id>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(feed_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(base + "/rpp/")}/>',
        f"<updated>{updated}</updated>",
        "<generator>RPP</generator>",
    ]
    for art in items:
        parts += [
            "<entry>",
            f'<title type="text">{xml_escape(art["title"])}</title>',
            f'<link rel="alternate" type="text/html" href={quoteattr(art["url"])}/>',
            f"<id>{xml_escape(art['url'])}</id>",
            f"<published>{art['published']}</published>",
            f"<updated>{art.get('modified') or art['published']}</updated>",
            f"<author><name>{xml_escape(art['author'])}</name></author>",
            f"<category term={quoteattr(str(art['section']))}/>",
            f'<summary type="text">{xml_escape(art["summary"])}</summary>',
            "</entry>",
        ]
    parts += ["</feed>", ""]
    return "\n".join(parts)


def _news_sitemap(items: list[dict[str, Any]]) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">',
    ]
    for art in items:
        parts += [
            "<url>",
            f"<loc>{xml_escape(art['url'])}</loc>",
            f"<lastmod>{art.get('modified') or art['published']}</lastmod>",
            "<news:news>",
            "<news:publication>",
            f"<news:name>{xml_escape(OUTLETS[art['outlet']])}</news:name>",
            f"<news:language>{xml_escape(art['language'])}</news:language>",
            "</news:publication>",
            f"<news:publication_date>{art['published']}</news:publication_date>",
            f"<news:title>{xml_escape(art['title'])}</news:title>",
            "</news:news>",
            "</url>",
        ]
    parts += ["</urlset>", ""]
    return "\n".join(parts)


def _plain_sitemap(urls: list[str], lastmod: str) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for url in urls:
        parts.append(f"<url><loc>{xml_escape(url)}</loc><lastmod>{lastmod}</lastmod></url>")
    parts += ["</urlset>", ""]
    return "\n".join(parts)


def _sitemap_index(urls: list[str], lastmod: str) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for url in urls:
        parts.append(f"<sitemap><loc>{xml_escape(url)}</loc><lastmod>{lastmod}</lastmod></sitemap>")
    parts += ["</sitemapindex>", ""]
    return "\n".join(parts)


STATIC_PAGES: tuple[tuple[str, str, list[str]], ...] = (
    (
        "/acerca/",
        "Acerca de este sitio de demostración",
        [
            "Este sitio reúne artículos de muestra escritos para Pesquisa. Imitan la estructura "
            "de seis medios peruanos para que el rastreador y el extractor de texto trabajen "
            "sin conexión a internet.",
            "Todos los nombres de personas investigadas, procesadas o acusadas que aparecen en "
            "las notas son ficticios. Las instituciones y organizaciones criminales mencionadas "
            "existen, pero los hechos narrados no ocurrieron.",
        ],
    ),
    (
        "/metodologia/",
        "Metodología de la demostración",
        [
            "Los artículos se publican mediante dos feeds RSS, un feed Atom y un sitemap de "
            "Google News enlazado desde un índice de sitemaps.",
            "Una ruta bajo /privado/ está bloqueada en robots.txt y no debe rastrearse.",
        ],
    ),
    (
        "/contacto/",
        "Contacto",
        [
            "Para reportar errores en los datos de demostración, abra un issue en el "
            "repositorio del proyecto Pesquisa.",
        ],
    ),
)
PRIVATE_PAGE: tuple[str, str, list[str]] = (
    "/privado/borradores/",
    "Borradores internos (no rastrear)",
    [
        "Esta página existe para comprobar que el rastreador respeta robots.txt. Si su texto "
        "aparece en el índice, la regla Disallow: /privado/ no se aplicó.",
    ],
)


def build_site(dest: Path, base_url: str) -> list[dict[str, Any]]:
    """Render the sample site into dest; return the source definitions that crawl it."""
    base = base_url.rstrip("/")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    env = _environment()
    site = {"base_url": base}

    articles = [_with_url(a, base) for a in load_articles()]
    newest_first = sorted(articles, key=lambda a: _parse_dt(a["published"]), reverse=True)

    for art in articles:
        template = env.get_template(f"{art['outlet']}.html.j2")
        html = template.render(article=art, site=site, related=_related(art, newest_first))
        _write(dest, article_path(art), html)

    page_template = env.get_template("page.html.j2")
    for path, title, paragraphs in (*STATIC_PAGES, PRIVATE_PAGE):
        html = page_template.render(site=site, title=title, paragraphs=paragraphs, articles=[])
        _write(dest, path, html)
    home = page_template.render(
        site=site,
        title="Pesquisa: sitio de noticias de demostración",
        paragraphs=["Artículos de muestra, del más reciente al más antiguo."],
        articles=newest_first,
        outlets=OUTLETS,
    )
    _write(dest, "/", home)

    by_outlet = {o: [a for a in newest_first if a["outlet"] == o] for o in OUTLETS}
    _write(
        dest,
        "/elcomercio/arc/outboundfeeds/rss/index.xml",
        _rss_elcomercio(by_outlet["elcomercio"], base),
    )
    _write(dest, "/larepublica/rss/politica.xml", _rss_larepublica(by_outlet["larepublica"], base))
    _write(dest, "/rpp/rss.xml", _atom_rpp(by_outlet["rpp"], base))

    news_items = [a for a in newest_first if a["outlet"] in SITEMAP_OUTLETS]
    lastmod = str(newest_first[0]["published"])
    _write(dest, "/sitemaps/news.xml", _news_sitemap(news_items))
    page_urls = [base + p for p, _, _ in (*STATIC_PAGES, PRIVATE_PAGE)]
    _write(dest, "/sitemaps/pages.xml", _plain_sitemap(page_urls, lastmod))
    _write(
        dest,
        "/sitemap.xml",
        _sitemap_index([f"{base}/sitemaps/news.xml", f"{base}/sitemaps/pages.xml"], lastmod),
    )
    _write(
        dest,
        "/robots.txt",
        f"User-agent: *\nDisallow: /privado/\nAllow: /\n\nSitemap: {base}/sitemap.xml\n",
    )

    def source(ident: str, name: str, kind: str, url: str) -> dict[str, Any]:
        return {
            "id": ident,
            "name": name,
            "kind": kind,
            "urls": [url],
            "schedule": SCHEDULE,
            "enabled": True,
        }

    return [
        source(
            "demo-elcomercio",
            "El Comercio (demo)",
            "feed",
            f"{base}/elcomercio/arc/outboundfeeds/rss/index.xml",
        ),
        source(
            "demo-larepublica",
            "La República (demo)",
            "feed",
            f"{base}/larepublica/rss/politica.xml",
        ),
        source("demo-rpp", "RPP Noticias (demo)", "feed", f"{base}/rpp/rss.xml"),
        source("demo-sitemap", "Sitemap de noticias (demo)", "sitemap", f"{base}/sitemap.xml"),
    ]


# --------------------------------------------------------------------------- server


class _DemoHandler(SimpleHTTPRequestHandler):
    """Static handler: extensionless files are HTML, XML is application/xml, no listings."""

    extensions_map: dict[str, str] = {  # noqa: RUF012 (same shape as the base class)
        **SimpleHTTPRequestHandler.extensions_map,
        "": "text/html; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".xml": "application/xml",
        ".txt": "text/plain; charset=utf-8",
    }

    def list_directory(self, path: str | Path) -> None:  # type: ignore[override]
        self.send_error(404, "Not Found")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        return None


class DemoServer:
    """Serve a directory on 127.0.0.1 from a daemon thread; use as a context manager.

    The socket is bound in ``__init__`` so ``base_url`` is known before the site is
    rendered (``build_site(root, server.base_url)``); requests are answered once entered.
    """

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root)
        handler = partial(_DemoHandler, directory=str(self.root))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        _host, bound_port = self._httpd.server_address[:2]
        self.port: int = int(bound_port)
        self.base_url: str = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="pesquisa-demo-server", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
