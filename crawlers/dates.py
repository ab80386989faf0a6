"""Spanish dates as Peruvian sites print them, and the publication date in a page's text.

"28 de setiembre de 2026 - 11:57 a. m." (gob.pe), "Lunes 23 de noviembre de 2026 | 8:45 p. m.",
"24 nov. 2026 | 10:30 h" (RPP), "23/11/2026 20:45" and "23.11.2026" (day first, as in Peru),
"12:00 m." (noon). Every result is a timezone-aware datetime in America/Lima.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from pesquisa.lima import LIMA

# Publication years we believe: earlier or later ones are placeholders (0001, 1900, 9999).
FIRST_YEAR, LAST_YEAR = 1990, 2100

MONTHS: dict[str, int] = {
    "enero": 1, "ene": 1,
    "febrero": 2, "feb": 2,
    "marzo": 3, "mar": 3,
    "abril": 4, "abr": 4,
    "mayo": 5, "may": 5,
    "junio": 6, "jun": 6,
    "julio": 7, "jul": 7,
    "agosto": 8, "ago": 8,
    "setiembre": 9, "septiembre": 9, "set": 9, "sep": 9, "sept": 9,
    "octubre": 10, "oct": 10,
    "noviembre": 11, "nov": 11,
    "diciembre": 12, "dic": 12,
}  # fmt: skip
_WEEKDAY = r"(?:lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo)"
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# "Lunes 23 de noviembre de 2026", "5 de enero del 2026", "24 nov. 2026", "28-set-2026"
_LONG = (
    rf"(?:{_WEEKDAY},?\s+)?(?P<day>\d{{1,2}})(?:\s+de\s+|\s+|-)(?P<month>{_MONTH})\.?"
    r"(?:,?\s+del?\s+|,?\s+|-)(?P<year>\d{4})"
)
_NUMERIC = r"(?P<nday>\d{1,2})(?P<sep>[/.\-])(?P<nmonth>\d{1,2})(?P=sep)(?P<nyear>\d{4}|\d{2})"
_ISO = r"(?P<iyear>\d{4})-(?P<imonth>\d{2})-(?P<iday>\d{2})"
# What may stand between a date and its time: "-", "|", ",", "a las", "hora:", "T".
_TIME = (
    r"(?:\s*[,|\-–—·]?\s*(?:a\s+las\s+|hora:?\s*|hrs?\.?:?\s*)?|T)"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*(?P<ampm>[ap]\.?\s?m\b\.?|m\.(?!\w)|hrs?\b\.?|h\b))?"
    r"(?P<tz>Z|[+\-]\d{2}:?\d{2}\b)?"
)
_DATE = re.compile(
    rf"(?<![\w/.\-])(?:{_LONG}|{_NUMERIC}|{_ISO})(?!(?!T\d)\w|[/.\-]\d)(?:{_TIME})?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateMatch:
    when: datetime  # aware, Lima
    has_time: bool
    start: int
    end: int


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def utc_offset(text: str) -> tzinfo:
    """A zone written as "Z", "-05:00", "-0500", "-05" or, in PDF dates, "-05'00'"."""
    if text in ("Z", "z"):
        return UTC
    digits = text[1:].replace(":", "").replace("'", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return timezone(-offset if text[0] == "-" else offset)


def _build(match: re.Match[str]) -> DateMatch | None:
    g = match.groupdict()
    try:
        if g["day"]:
            day, month, year = int(g["day"]), MONTHS[g["month"].lower()], _year(g["year"])
        elif g["nday"]:
            day, month, year = int(g["nday"]), int(g["nmonth"]), _year(g["nyear"])
        else:
            day, month, year = int(g["iday"]), int(g["imonth"]), int(g["iyear"])
        hour = minute = second = 0
        if g["hour"] is not None:
            hour, minute, second = int(g["hour"]), int(g["minute"]), int(g["second"] or 0)
            marker = (g["ampm"] or "").lower().replace(".", "").replace(" ", "")
            if marker in ("am", "pm"):
                if not 1 <= hour <= 12:
                    return None
                hour = hour % 12 + (12 if marker == "pm" else 0)
            elif marker == "m" and hour != 12:  # "m." is noon only: 12:00 m.
                return None
        if not FIRST_YEAR <= year <= LAST_YEAR:
            return None
        zone = LIMA if not g["tz"] else utc_offset(g["tz"])
        when = datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(LIMA)
    except (ValueError, KeyError):  # 31 de febrero, 25:00, month 13
        return None
    return DateMatch(when, g["hour"] is not None, match.start(), match.end())


def find_dates(text: str) -> Iterator[DateMatch]:
    """Every valid date in `text`, in order; impossible ones (31 de febrero) are skipped."""
    for match in _DATE.finditer(text):
        found = _build(match)
        if found is not None:
            yield found


def parse_spanish_date(text: str) -> datetime | None:
    """The first valid date in `text` as an aware Lima datetime (midnight when no time)."""
    return next((found.when for found in find_dates(text)), None)


# -- the publication date in a page ---------------------------------------------------------

MAX_CANDIDATE_CHARS = 220  # a date line, not a paragraph that mentions a date
_UPDATED = re.compile(r"actualiz|modific|updated|editad", re.IGNORECASE)
_PUBLISHED = re.compile(r"publicad|published|fecha de publicaci", re.IGNORECASE)
_DATEISH = re.compile(r"fecha|date|time|publi|posted|meta|byline|block|info", re.IGNORECASE)
_UPDATED_CLASS = re.compile(r"updat|actualiz|modif", re.IGNORECASE)
# Boxes of other articles, menus and chrome: their dates are not this article's.
_ELSEWHERE = re.compile(
    r"relac|related|recomend|puede-interesar|tambien|lo-ultimo|ultimas|mas-le|most|trending"
    r"|popular|sidebar|widget|newsletter|coment|comment|footer|menu|cookie|ticker|breaking"
    r"|outbrain|taboola|seguir-leyendo|more-news|read-more|otras|listado|story-list",
    re.IGNORECASE,
)
_SKIP_TAGS = {"script", "style", "noscript", "nav", "footer", "aside", "form", "select", "option"}


def _elsewhere(element: Any, h1: Any) -> bool:
    """True when `element` sits in a box of other articles, a menu, or the site's header."""
    for node in (element, *element.iterancestors()):
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP_TAGS:
            return True
        if (
            tag == "header"
            and (h1 is None or h1 not in node.iterdescendants())
            and not any(a.tag in ("article", "main") for a in node.iterancestors())
        ):
            return True
        label = f"{node.get('class') or ''} {node.get('id') or ''}"
        if label.strip() and _ELSEWHERE.search(label):
            return True
    return False


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", " ".join(text.split()))


def page_date(tree: Any) -> datetime | None:
    """The publication date printed in a parsed page (lxml), or None.

    Candidates are short elements holding a date. The best one is, in order: not labelled as
    an update ("Actualizado el ...": the published date wins), nearest after the h1 (dates
    before it count three times their distance), in an element whose tag or class names a date
    (`time`, `.fecha`, `.date`, gob.pe's `span.block`), and with a time of day.
    Dates in related-article lists, menus, footers and asides are ignored.
    """
    h1s = tree.xpath("//article//h1 | //main//h1") or tree.xpath("//h1")
    h1 = h1s[0] if h1s else None
    h1_index = next((i for i, node in enumerate(tree.iter()) if node is h1), 0)
    best: tuple[float, datetime] | None = None
    for index, element in enumerate(tree.iter()):
        tag = element.tag if isinstance(element.tag, str) else ""
        if not tag or tag in _SKIP_TAGS or tag in ("html", "body", "head", "title"):
            continue
        if len(element) > 8:  # a container: its children are the candidates
            continue
        text = _norm(element.text_content())
        attr = element.get("datetime") if tag == "time" else None
        if len(text) > MAX_CANDIDATE_CHARS or not any(ch.isdigit() for ch in text + (attr or "")):
            continue
        found = list(find_dates(text))
        if attr and not found:
            iso = _iso_attr(attr)
            if iso is not None:
                found = [DateMatch(iso, "T" in attr, 0, 0)]
        if not found or _elsewhere(element, h1):
            continue
        label = f"{element.get('class') or ''} {element.get('id') or ''} {tag}"
        updated_class = bool(_UPDATED_CLASS.search(label))
        dateish = tag == "time" or bool(_DATEISH.search(label))
        after = index - h1_index
        distance = float(after if after >= 0 else -3 * after)
        previous_end = 0
        for match in found:
            before = text[previous_end : match.start]
            previous_end = match.end
            updated = bool(_UPDATED.search(before)) or (
                updated_class and not _PUBLISHED.search(before)
            )
            score = distance + (1000 if updated else 0) - (25 if dateish else 0)
            score -= 0.5 if match.has_time else 0
            if best is None or score < best[0]:
                best = (score, match.when)
    return best[1] if best else None


def _iso_attr(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return parse_spanish_date(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LIMA)
    return parsed.astimezone(LIMA)
