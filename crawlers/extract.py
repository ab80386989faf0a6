"""Main text, title, date, author, section and language of an article page.

The page is parsed once (trafilatura's own parser settings); our metadata work reads that
tree, and trafilatura extracts the text from a copy of it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

import htmldate
import trafilatura
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura.metadata import extract_title
from trafilatura.settings import Document
from trafilatura.utils import load_html

from crawlers.boilerplate import clean_body
from crawlers.dates import FIRST_YEAR, LAST_YEAR, page_date
from pesquisa.ids import strip_tracking
from pesquisa.lima import LIMA

MIN_TEXT_CHARS = 200
LANGUAGE_CONFIDENCE = 0.9  # below it, the page's declared language stands
# Languages the detector chooses among: Spanish and those a Peruvian outlet may publish in.
# A smaller set makes Spanish text far less likely to be called Galician or Catalan.
DETECTED_LANGUAGES = ("es", "en", "pt", "fr", "it", "de", "ca", "gl", "la", "nl", "zh", "ja")

# Outlets' names as they append them to titles; each page's og:site_name, JSON-LD publisher
# and host name are added to these.
KNOWN_SITES = (
    "El Comercio", "El Comercio Perú", "La República", "RPP", "RPP Noticias", "Gestión",
    "Perú21", "Correo", "Diario Correo", "Infobae", "Andina", "Agencia Peruana de Noticias",
    "El Peruano", "Diario Oficial El Peruano", "IDL-Reporteros", "Ojo Público", "Convoca",
    "Caretas", "Wayka", "Epicentro", "Epicentro TV", "Expreso", "Trome", "Canal N", "Exitosa",
    "Latina", "América TV", "ATV", "Willax", "Panamericana", "La Tercera", "El País", "BBC",
    "CNN en Español", "gob.pe", "Gobierno del Perú", "Plataforma del Estado Peruano",
    "Ministerio Público", "Fiscalía de la Nación", "Poder Judicial", "Poder Judicial del Perú",
    "Contraloría General de la República", "Junta Nacional de Justicia",
    "Tribunal Constitucional",
)  # fmt: skip
# Words that may ride along with an outlet's name in a suffix ("RPP Noticias", "Infobae Perú").
_FILLER = {"diario", "noticias", "peru", "agencia", "pe", "com", "online", "digital", "news",
           "oficial", "de", "del", "el", "la", "los", "las", "tv"}  # fmt: skip
# Segments that trail an outlet's name (gob.pe: "Title - Noticias - Institution - Gobierno").
_GENERIC_SEGMENTS = {"noticias", "notadeprensa", "notasdeprensa", "portada", "inicio", "home"}
_SEPARATOR = re.compile(r"\s+[|\-–—·•»]\s+")
_HOST_NOISE = {"www", "m", "amp", "pe", "com", "gob", "org", "net", "es", "edu"}

SECTIONS = {
    "politica": "Política", "economia": "Economía", "sociedad": "Sociedad", "peru": "Perú",
    "lima": "Lima", "mundo": "Mundo", "actualidad": "Actualidad", "judiciales": "Judiciales",
    "judicial": "Judicial", "policiales": "Policiales", "policial": "Policial",
    "nacional": "Nacional", "internacional": "Internacional", "regiones": "Regiones",
    "opinion": "Opinión", "cultura": "Cultura", "deportes": "Deportes", "tecnologia":
    "Tecnología", "salud": "Salud", "ciencia": "Ciencia", "educacion": "Educación",
    "investigacion": "Investigación", "investigaciones": "Investigaciones",
    "espectaculos": "Espectáculos", "entretenimiento": "Entretenimiento", "locales": "Locales",
    "medio-ambiente": "Medio ambiente", "ambiente": "Ambiente", "derechos-humanos":
    "Derechos humanos", "corrupcion": "Corrupción", "seguridad": "Seguridad",
    "narcotrafico": "Narcotráfico", "mineria": "Minería", "congreso": "Congreso",
    "elecciones": "Elecciones", "justicia": "Justicia", "reportajes": "Reportajes",
}  # fmt: skip

# Meta names/properties/itemprops that declare the publication date, most trusted first.
META_DATES = (
    "article:published_time", "og:published_time", "og:article:published_time",
    "datepublished", "article.published", "pubdate", "publishdate", "publish-date",
    "publish_date", "date", "dc.date.issued", "dcterms.issued", "dcterms.created", "dc.date",
    "sailthru.date", "parsely-pub-date", "cxenseparse:recs:publishtime",
)  # fmt: skip
_BYLINE_CLASS = re.compile(r"author|autor|byline|firma|redactor", re.IGNORECASE)
_BYLINE_PREFIX = re.compile(
    r"^(?:por|by|escrito por|redacci[óo]n\s*:|texto\s*:|autor(?:a)?\s*:)\s+", re.IGNORECASE
)
_BYLINE_ELSEWHERE = re.compile(r"relac|related|recomend|coment|comment|footer|menu", re.I)
_SECTION_CLASS = re.compile(
    r"(?:^|[\s_-])(?:seccion|section|categoria|category|kicker)(?:$|[\s_-]|-tag|-name)", re.I
)


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    published: str | None
    language: str | None
    author: str | None
    canonical_url: str | None  # rel=canonical as published (tracking parameters removed)
    section: str | None = None
    language_flagged: bool = False  # the text is not in the language the source expects


def to_iso(value: str | datetime | date | None) -> str | None:
    """ISO 8601 with a timezone; naive values and bare dates are taken as Lima time.
    None for a year outside FIRST_YEAR..LAST_YEAR: a CMS's placeholder, not a date."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=LIMA)
    return value.astimezone(LIMA).isoformat(timespec="seconds")


# -- titles ------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", plain)


@lru_cache(maxsize=4096)
def _site_keys(name: str) -> frozenset[str]:
    """"El Comercio Perú" -> {"elcomercioperu", "comercio"}: the name whole and without filler."""
    words = _words(name)
    keys = {"".join(words), "".join(w for w in words if w not in _FILLER)}
    return frozenset(keys - {""})


def _host_keys(url: str) -> set[str]:
    host = (urlsplit(url).hostname or "").lower()
    return {label for label in host.split(".") if label and label not in _HOST_NOISE}


def strip_site_suffix(title: str, site_names: Iterable[str] = (), h1: str | None = None) -> str:
    """`title` without the outlet names appended to it (" | El Comercio Perú", " - infobae").

    A " - " segment goes only when it names an outlet (KNOWN_SITES or `site_names`), so a
    title such as "Odebrecht - La ruta del dinero" keeps both halves; a short " | " segment
    goes in any case, as outlets use " | " for nothing else. When the page's h1 starts the
    title, the h1 is the title. What is left must keep at least 12 characters.
    """
    title = " ".join(title.split())
    if h1:
        h1 = " ".join(h1.split())
        rest = title[len(h1) :]
        if rest and title.startswith(h1) and _SEPARATOR.match(rest):
            return h1
    names: set[str] = set()
    for name in (*KNOWN_SITES, *site_names):
        names |= _site_keys(name)
    stripped_any = False
    while True:
        separators = list(_SEPARATOR.finditer(title))
        if not separators:
            break
        last = separators[-1]
        head, tail = title[: last.start()].strip(), title[last.end() :].strip()
        tail_keys = _site_keys(tail)
        is_site = bool(tail_keys & names) or (stripped_any and "".join(_words(tail)) in
                                              _GENERIC_SEGMENTS)
        generic_bar = "|" in last.group() and len(tail) <= 40 and len(tail.split()) <= 4
        if len(head) < 12 or not (is_site or generic_bar):
            break
        title, stripped_any = head, True
    return title


# -- JSON-LD -----------------------------------------------------------------------------------


def _json_ld_nodes(tree: Any) -> list[dict[str, Any]]:
    """Every object in the page's JSON-LD blocks (lists and @graph flattened), articles first."""
    nodes: list[dict[str, Any]] = []
    for block in tree.xpath("//script[@type='application/ld+json']/text()"):
        try:
            data = json.loads(block)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                nodes.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))
    return sorted(nodes, key=lambda node: not _is_article(node))


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type")
    return [kind] if isinstance(kind, str) else [k for k in kind or [] if isinstance(k, str)]


def _is_article(node: dict[str, Any]) -> bool:
    return any(t.endswith(("Article", "Posting", "Report")) for t in _types(node))


def _names(value: Any) -> list[str]:
    """Names in a JSON-LD author value: a string, an object with "name", or a list of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def _first_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


# -- the page's facts --------------------------------------------------------------------------


@dataclass(frozen=True)
class _PageFacts:
    title: str | None
    canonical: str | None
    language: str | None
    published: str | None  # JSON-LD or meta
    author: str | None
    section: str | None


def _metas(tree: Any) -> dict[str, str]:
    """meta name/property/itemprop (lower case) -> content of its first occurrence."""
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = (meta.get("content") or "").strip()
        if not content:
            continue
        for attr in ("property", "name", "itemprop"):
            key = (meta.get(attr) or "").strip().lower()
            if key:
                found.setdefault(key, content)
    return found


def _clean_author(value: str | None, site_keys: set[str]) -> str | None:
    if not value:
        return None
    value = " ".join(value.split())
    value = _BYLINE_PREFIX.sub("", value).strip(" |,-")
    value = re.split(r"\s[|•·]\s|\n", value)[0].strip()
    if not value or len(value) > 100 or "http" in value or "@" in value or "/" in value:
        return None
    if _site_keys(value) & site_keys and len(_words(value)) <= 3:
        return None  # the outlet's own name is not an author
    return value


def _byline(tree: Any, site_keys: set[str]) -> str | None:
    for node in tree.xpath("//*[@itemprop='author'] | //a[@rel='author']"):
        name = node.xpath("string(.//*[@itemprop='name'])") or node.text_content()
        author = _clean_author(name, site_keys)
        if author:
            return author
    for node in tree.xpath("//body//*[@class]"):
        if not _BYLINE_CLASS.search(node.get("class", "")):
            continue
        if any(_BYLINE_ELSEWHERE.search(a.get("class", "") + " " + a.tag) for a in
               node.iterancestors() if isinstance(a.tag, str)) or node.tag == "img":
            continue
        anchor = node.xpath("string(.//a)")
        author = _clean_author(anchor or node.text_content(), site_keys)
        if author and len(author.split()) <= 8:
            return author
    return None


def _breadcrumb_section(nodes: list[dict[str, Any]], tree: Any) -> str | None:
    for node in nodes:
        if "BreadcrumbList" not in _types(node):
            continue
        items = node.get("itemListElement")
        if isinstance(items, list) and len(items) >= 3:  # home > section > ... > article
            items = sorted(
                (i for i in items if isinstance(i, dict)),
                key=lambda i: int(i.get("position") or 0),
            )
            entry = items[1]
            name = entry.get("name") or (entry.get("item") or {}).get("name")
            if isinstance(name, str) and name.strip():
                return name.strip()
    links = tree.xpath(
        "//*[contains(translate(@class, 'BREADCUMS', 'breadcums'), 'breadcrumb')]//a"
    )
    if len(links) >= 2:
        name = " ".join(links[1].text_content().split())
        return name or None
    return None


def _outside_chrome(node: Any) -> bool:
    return not any(
        a.tag in ("nav", "footer", "aside") or _BYLINE_ELSEWHERE.search(a.get("class", ""))
        for a in node.iterancestors()
        if isinstance(a.tag, str)
    )


def _label(node: Any) -> str | None:
    text = " ".join(node.text_content().split())
    return text if text and len(text) <= 40 and len(text.split()) <= 4 else None


def _section_label(tree: Any) -> str | None:
    """The section as the page prints it: a WordPress `rel="category"` link, a short label
    whose class names it ("article__section", "field--name-field-seccion"), or a kicker just
    above the h1 that is a known section word (El Peruano's <h4>Política</h4>). Menus,
    footers and lists of other articles do not count."""
    for node in tree.xpath("//body//a[contains(concat(' ', @rel, ' '), ' category ')]"):
        if _outside_chrome(node) and (label := _label(node)):
            return label
    for node in tree.xpath("//body//*[@class]"):
        if _SECTION_CLASS.search(node.get("class", "")) and len(node) <= 2:
            label = _label(node)
            if label and _outside_chrome(node) and node.tag != "header":
                return label
    h1 = next(tree.iter("h1"), None)
    if h1 is not None:
        before = [n for n in h1.itersiblings(preceding=True)][:6]
        before += [p for a in h1.iterancestors() for p in a.itersiblings(preceding=True)][:12]
        for node in before:
            if not isinstance(node.tag, str) or node.tag in ("nav", "header", "footer", "aside"):
                continue
            if _BYLINE_ELSEWHERE.search(node.get("class", "")) or not _outside_chrome(node):
                continue
            for candidate in (node, *node.iterdescendants()):
                if not isinstance(candidate.tag, str):
                    continue
                label = _label(candidate)
                if label and "-".join(_words(label)) in SECTIONS:
                    return label
    return None


def _url_section(url: str) -> str | None:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) >= 2:
        return SECTIONS.get(segments[0].lower())
    return None


def _page_facts(tree: Any, url: str) -> _PageFacts:
    metas = _metas(tree)
    nodes = _json_ld_nodes(tree)
    articles = [node for node in nodes if _is_article(node)] or nodes

    site_names = [metas.get("og:site_name", ""), metas.get("application-name", "")]
    for node in nodes:
        site_names += _names(node.get("publisher"))
        if "WebSite" in _types(node) or "Organization" in _types(node):
            site_names += _names(node.get("name"))
    own_keys = _host_keys(url)  # this outlet's names: never its authors
    for name in site_names:
        own_keys |= _site_keys(name)
    site_keys = set(own_keys)
    for name in KNOWN_SITES:
        site_keys |= _site_keys(name)

    h1 = next((" ".join(h.text_content().split()) for h in tree.iter("h1")), "") or None
    title: str | None = None
    for candidate in (
        metas.get("og:title"),
        next((_first_text(n.get("headline")) for n in articles if n.get("headline")), None),
        h1,
    ):
        if candidate and not (_site_keys(candidate) & site_keys and len(candidate) < 40):
            title = strip_site_suffix(candidate, [n for n in site_names if n], h1) or None
            if title:
                break

    declared = [d for n in nodes if isinstance(d := n.get("datePublished"), str)]
    declared += [metas[name] for name in META_DATES if name in metas]
    declared += tree.xpath("//*[@itemprop='datePublished']/@datetime")
    published = next((iso for iso in map(to_iso, declared) if iso), None)

    authors = [a for n in articles for a in _names(n.get("author"))]
    cleaned = [c for a in dict.fromkeys(authors) if (c := _clean_author(a, own_keys))]
    author = (
        ", ".join(cleaned)
        if cleaned
        else _clean_author(metas.get("author"), own_keys) or _byline(tree, own_keys)
    )

    section = metas.get("article:section") or next(
        (s for n in articles if (s := _first_text(n.get("articleSection")))), None
    )
    section = (
        section or _breadcrumb_section(nodes, tree) or _section_label(tree) or _url_section(url)
    )

    canonical = tree.xpath("string(//link[@rel='canonical']/@href)").strip() or None
    lang = tree.xpath("string(/html/@lang)").strip() or metas.get("og:locale", "")
    language = re.split(r"[-_]", lang)[0].lower() or None if lang else None
    return _PageFacts(title, canonical, language, published, author, section)


# -- language ----------------------------------------------------------------------------------


@cache
def _identifier() -> LanguageIdentifier:
    """py3langid's bundled model (no download), restricted to DETECTED_LANGUAGES."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(DETECTED_LANGUAGES))
    return identifier


def detect_language(text: str) -> tuple[str, float]:
    """The language of `text` (ISO 639-1) and the detector's confidence (0-1)."""
    language, confidence = _identifier().classify(text[:1000])
    return str(language), float(confidence)


def language_of(text: str, declared: str | None) -> str | None:
    """The detected language when the detector is confident, else the declared one."""
    detected, confidence = detect_language(text)
    return detected if confidence >= LANGUAGE_CONFIDENCE else declared or detected


# -- the article -------------------------------------------------------------------------------


def extract(
    page: str,
    url: str,
    published_hint: str | None = None,
    *,
    author_hint: str | None = None,
    expected_language: str | None = None,
) -> Extracted | None:
    """The article in `page`, or None when the page holds no article-sized text.

    The publication date is the first of: JSON-LD `datePublished`; `article:published_time`
    and the other META_DATES; `published_hint`, the date the feed or sitemap gave; the
    visible Spanish date near the title (crawlers/dates.py); htmldate's heuristics. The feed
    date comes before the visible one because feeds state it in a machine format with a
    zone, while a printed date may lack the time. Dates are ISO 8601 in Lima time.
    `author_hint` (a feed's dc:creator) is used when the page names no author.
    `expected_language` is the source's: a text detected in another language is flagged.
    """
    tree = load_html(page)
    if tree is None:
        return None
    facts = _page_facts(tree, url)
    visible = page_date(tree) if facts.published is None and not to_iso(published_hint) else None
    # trafilatura works on a copy of our tree (it prunes what it reads).
    doc = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True
    )
    if not isinstance(doc, Document):
        return None
    title = facts.title or strip_site_suffix(extract_title(tree) or "", (), None)
    text = clean_body((doc.text or "").strip(), title, (facts.section, *SECTIONS.values()))
    if len(text) < MIN_TEXT_CHARS:
        return None
    published = facts.published or to_iso(published_hint) or to_iso(visible)
    if published is None:
        found = htmldate.find_date(
            tree, url=url, outputformat="%Y-%m-%dT%H:%M:%S%z", original_date=True
        )
        published = to_iso(found)
    language = language_of(text, facts.language)
    return Extracted(
        title=title,
        text=text,
        published=published,
        language=language,
        author=facts.author or (author_hint.strip() if author_hint else None) or None,
        canonical_url=strip_tracking(facts.canonical) if facts.canonical else None,
        section=facts.section,
        language_flagged=bool(expected_language and language and language != expected_language),
    )
