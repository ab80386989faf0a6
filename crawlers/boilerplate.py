"""Boilerplate that Peruvian outlets print inside the article body, and that trafilatura keeps.

`clean_body` works on the extracted text, line by line, and removes only lines that are whole
pieces of page furniture, never a line that merely mentions an outlet ("En diálogo con RPP,
...", "Lima, nov. 20 (ANDINA).") or a sentence:

- at the top, the section label and the title printed above the text ("Actualidad" / the
  headline, as Canal N, Exitosa and El Peruano lay out their pages);
- near the top, a press-release label ("Nota de prensa", gob.pe) and a line that is only a
  date ("28 de setiembre de 2026 - 11:57 a. m.");
- anywhere, related-link markers ("LEE TAMBIÉN | <headline>", "Contenido sugerido"),
  podcast / newsletter / follow-us promos ("Escucha el podcast Informe RPP en Spotify...",
  "Síguenos en Google News"), share-button text, photo credits ("Foto: Andina/Difusión"),
  and wire signatures ("(FIN) JCR/MAO");
- a related-links heading ("Más en Andina:", "Te puede interesar") with the headlines listed
  under it (short lines without a sentence's closing punctuation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from crawlers.dates import find_dates
from pesquisa.ids import fold

MAX_FURNITURE_CHARS = 220  # longer lines are paragraphs: no rule below applies to them
HEAD_LINES = 5  # labels and bare dates are looked for in this many lines at the top
MAX_LISTED = 8  # headlines dropped after one related-links heading, at most
_LABEL_CHARS = 60  # a section or press label is no longer than this

# Rules match the line folded: lower case, accents removed, spaces collapsed (see _fold).
_OUTLETS = (
    r"andina|rpp(?: noticias)?|gestion|el comercio|peru ?21|correo|trome|infobae|"
    r"la republica|exitosa|canal n|el peruano|expreso|caretas|ojo publico|convoca|wayka|"
    r"epicentro|idl-reporteros"
)
_SOCIAL = (
    r"google news|whatsapp|facebook|twitter|instagram|tiktok|youtube|telegram|threads|"
    r"linkedin|spotify|newsletter|boletin|redes sociales|notificaciones"
)
_NETWORK = r"(?:facebook|twitter|x|whatsapp|linkedin|telegram|messenger|e-?mail|correo)"
# A whole line that is furniture, wherever it stands.
_FURNITURE = re.compile(
    "|".join(
        (
            # "LEE TAMBIÉN | headline", "Lee también: headline", "VER MÁS ► headline"
            r"(?:lee|lea|leer|mira|ver|revisa|tambien lee)(?: tambien| mas| ademas| aqui)?"
            r"\s*[:|►▶»→>\-–—]\s*\S.*",
            r"(?:te puede interesar|te recomendamos|lectura recomendada|noticia relacionada|"
            r"contenido relacionado|contenido sugerido)\s*[:|►▶»→>\-–—]\s*\S.*",
            # related-content slots whose title stands alone (Gestión's "Contenido sugerido")
            r"(?:contenido sugerido|contenido patrocinado|publicidad|tags relacionados|"
            r"lo mas leido|suscribete|escucha (?:rpp )?en vivo)\s*:?",
            # podcast promos
            r"(?:escucha|escuchanos|oye|sigue) (?:el|nuestro|nuestros|este|los|aqui el) "
            r"(?:podcast|podcasts|videopodcast)\b.*",
            r"escucha .{1,60} en (?:spotify|apple podcasts|google podcasts|youtube)\b.*",
            # follow us, newsletters, alerts
            rf"(?:siguenos|sigue a .{{1,40}} en|sigue en|unete a nuestro|suscribete a|"
            rf"suscribete en|recibe (?:nuestro|nuestros|nuestras|las|el)|activa las)\b"
            rf".*\b(?:{_SOCIAL})\b.*",
            # share buttons
            rf"compart(?:ir|e|elo)(?: en| esta noticia| esta nota| en redes(?: sociales)?)?"
            rf"\s*:?(?:\s*{_NETWORK}\s*[,|·/]?)*",
            rf"(?:{_NETWORK}\s*[,|·/]?\s*){{2,}}",
            # photo and video credits: "Foto: Andina/Difusión", "(Foto: archivo)"
            r"\(?(?:foto|fotos|fotografia|imagen|imagenes|video|captura|infografia|"
            r"credito|creditos)(?: de portada| referencial)?\s*:\s*[^.!?]{1,80}\)?\.?",
            # wire signatures: "(FIN)", "(FIN) JCR/MAO", "(Fin) JCR/MAO/JJN"
            r"\(\s*fin\s*\)(?:\s*[a-zñ]{2,5}(?:\s*/\s*[a-zñ]{2,5})*)?\s*\.?",
        )
    )
)
# A heading over a list of related headlines: the heading and the list go.
_RELATED_HEADING = re.compile(
    rf"(?:mas (?:en|de) (?:{_OUTLETS})|lee tambien|lea tambien|leer mas|ver mas|"
    r"mira tambien|te puede interesar|tambien te puede interesar|te recomendamos|"
    r"contenido relacionado|noticias relacionadas|notas relacionadas|mas noticias|"
    r"seguir leyendo|sigue leyendo|relacionadas|lo ultimo)\s*:?"
)
# Content-type labels that gob.pe and the official sites print above the date.
_PRESS_LABEL = re.compile(
    r"(?:nota de prensa|nota informativa|comunicado|comunicado oficial|noticia|"
    r"pronunciamiento)(?: n(?:ro)?(?: \d+)+)?"
)
_DATE_PREFIX = re.compile(r"(?:publicado|actualizado|fecha)\s*(?:el)?\s*:?\s*", re.IGNORECASE)
# A wire signature that closes the last paragraph instead of standing on its own line.
_TRAILING_SIGNATURE = re.compile(
    r"\s+\((?:FIN|Fin)\)(?:\s*[A-ZÑ]{2,5}(?:\s*/\s*[A-ZÑ]{2,5})*)?\.?$"
)
_SENTENCE_END = (".", "!", "?", "…", ":", ";", '"', "”", "»", ")")


_WORD = re.compile(r"\w+")
def _fold(line: str) -> str:
    """Lower case, accents removed, whitespace collapsed: what the rules above match."""
    return " ".join(fold(line).split())


def _key(text: str) -> str:
    """Words only: "POLITICA" and "Política", or a title with other quotes, compare equal."""
    return " ".join(_WORD.findall(_fold(text)))


_label_key = lru_cache(maxsize=1024)(_key)  # section names recur on every page


def _is_furniture(line: str) -> bool:
    return len(line) <= MAX_FURNITURE_CHARS and _FURNITURE.fullmatch(_fold(line)) is not None


def _is_bare_date(line: str) -> bool:
    """The line is a date (with its time), perhaps after "Publicado:", and nothing else."""
    if len(line) > 80:
        return False
    rest = _DATE_PREFIX.sub("", line.strip(), count=1)
    matches = list(find_dates(rest))
    return (
        len(matches) == 1
        and not rest[: matches[0].start].strip(" ,|-–—")
        and not rest[matches[0].end :].strip(" .,|-–—")
    )


def _is_listed_headline(line: str) -> bool:
    """A line of a related-links list: a bullet, or a short line that ends no sentence."""
    stripped = line.strip()
    if stripped.startswith(("- ", "• ", "* ")):
        return True
    return 0 < len(stripped) <= 160 and not stripped.endswith(_SENTENCE_END)


def _strip_top(lines: list[str], title: str | None, sections: Iterable[str | None]) -> list[str]:
    """Without the section labels and the title that the page prints above the text."""
    title_key = _key(title) if title else ""
    keys = {_label_key(section) for section in sections if section} | {title_key}
    longest = max(len(title or ""), _LABEL_CHARS) + 20  # room for quotes and spacing
    # Leading lines that are a section label or the title.
    start = 0
    for index in [i for i, line in enumerate(lines[:8]) if line.strip()][:4]:
        line = lines[index]
        if len(line) > longest or _key(line) not in keys - {""}:
            break
        start = index + 1
    rest = lines[start:]
    # The title run into the first paragraph ("Title Body text..."), as some pages print it.
    if title and rest and rest[0].startswith(title) and len(rest[0]) > len(title):
        rest[0] = rest[0][len(title) :].lstrip()
    return rest


def _strip_head_labels(lines: list[str]) -> list[str]:
    """Without press labels and bare date lines among the first HEAD_LINES lines."""
    kept: list[str] = []
    seen = 0
    for line in lines:
        if line.strip() and seen < HEAD_LINES:
            seen += 1
            if len(line) <= _LABEL_CHARS and _PRESS_LABEL.fullmatch(_key(line)):
                continue
            if _is_bare_date(line):
                continue
        kept.append(line)
    return kept


def _strip_furniture(lines: list[str]) -> list[str]:
    kept: list[str] = []
    listing = 0  # headlines still to drop under a related-links heading
    for line in lines:
        if len(line) <= MAX_FURNITURE_CHARS and _RELATED_HEADING.fullmatch(_fold(line)):
            listing = MAX_LISTED
            continue
        if listing and _is_listed_headline(line):
            listing -= 1
            continue
        if line.strip():
            listing = 0
        if _is_furniture(line):
            continue
        kept.append(line)
    return kept


def clean_body(text: str, title: str | None = None, sections: Iterable[str | None] = ()) -> str:
    """`text` without the outlet's furniture (see the module's docstring). `sections` are
    the labels a page may print above its title: the page's own section, and known ones."""
    lines = _strip_top(text.split("\n"), title, sections)
    lines = _strip_furniture(_strip_head_labels(lines))
    while lines and not lines[-1].strip():
        lines.pop()
    if lines:
        lines[-1] = _TRAILING_SIGNATURE.sub("", lines[-1])
    return "\n".join(lines).strip()
