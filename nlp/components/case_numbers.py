"""Find Peruvian case numbers (expedientes, carpetas fiscales, casaciones, recursos de nulidad)
and normalize them, so that news and bulletins about the same case link up.

Normalization rules (the `normalized` field; `kind` is stored beside it):

- every kind: separators become "-" (en/em dashes, non-breaking hyphens), letters uppercase,
  accents dropped, number signs ("N.°", "Nº", "N°", "No.", "Nro.") and keywords dropped;
- `expediente`, full Poder Judicial form NNNNN-YYYY-I-DDDD-OO-EE-JJ: the case number is
  zero-padded to 5 digits, the incident number loses its leading zeros, the judicial district
  is padded to 4 digits and the court number to 2, so "Exp. 12-2023-1-5001-JR-PE-1" and
  "00012-2023-1-5001-JR-PE-01" are both "00012-2023-1-5001-JR-PE-01";
- `expediente`, short form "expediente 249-2015" (only after the word expediente / Exp.):
  number padded to 5 digits, "00249-2015";
- `expediente_tc` (Tribunal Constitucional): number padded to 5 digits, the process type
  uppercase, "/TC" at the end: "6-2019-cc/tc" -> "00006-2019-CC/TC";
- `carpeta_fiscal`: "CF " + the numeric parts without leading zeros: "CF 506015504-2023-123-0";
- `casacion`: "CAS " + number without leading zeros + year: "CAS 1234-2019";
- `recurso_nulidad`: "RN " + number without leading zeros + year: "RN 2345-2018".
  For casaciones and recursos de nulidad the place of origin ("-Lima", "/Nacional") stays in
  `text` but not in `normalized`: the press often leaves it out, and it would split one case.

The prefixes keep kinds apart where the digits alone could collide (a casación and a recurso
de nulidad may share number and year). `text`, `start` and `end` cover the citation as
written, keyword included ("Exp. N.° 00299-2017-36-5001-JR-PE-01").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from spacy.tokens import Doc

from nlp import extensions  # noqa: F401  (registers doc._.case_numbers)
from nlp.components.crime_types import fold_text

DASH = r"[-‐‑‒–—]"
YEAR = r"(?:19|20)\d{2}"
# "N.°", "N°", "Nº", "N.º", "N. °", "Nro.", "Nros.", "No.", "Núm.", "número"
NUMBER_SIGN = r"(?:(?:n\s?\.?\s?[°º˚o]\.?|nros?\.?|n[úu]m(?:ero)?\.?|no\.)\s*)?"
# Places of origin of casaciones and recursos de nulidad ("1234-2019-Lima", "864-2017/Nacional")
PLACE = (
    r"(?-i:Madre de Dios|La Libertad|San Mart[ií]n|Del Santa|Selva Central|Puente Piedra"
    r"|Lima (?:Norte|Sur|Este|Centro|Noroeste)|[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)"
)

FULL_EXPEDIENTE = re.compile(
    rf"(?:(?:expedientes?|exp(?:te)?\.?)\s*{NUMBER_SIGN})?"
    rf"(?<![\w-])(?P<n>\d{{1,5}}){DASH}(?P<year>{YEAR}){DASH}(?P<inc>\d{{1,3}}){DASH}"
    rf"(?P<dist>\d{{4}}){DASH}(?P<org>[a-z]{{2}}){DASH}(?P<spec>[a-z]{{2,3}}){DASH}"
    rf"(?P<court>\d{{1,2}})(?!\w)",
    re.I,
)
TC_EXPEDIENTE = re.compile(
    rf"(?:(?:expedientes?|exp(?:te)?\.?|stc|sentencia)\s*{NUMBER_SIGN})?"
    rf"(?<![\w-])(?P<n>\d{{1,5}}){DASH}(?P<year>{YEAR}){DASH}(?P<type>[a-z]{{1,3}})"
    rf"\s?/\s?TC(?!\w)",
    re.I,
)
SHORT_EXPEDIENTE = re.compile(
    rf"(?<!\w)(?:expedientes?(?:\s+judicial)?|exp(?:te)?\.)\s*{NUMBER_SIGN}"
    rf"(?P<n>\d{{1,5}}){DASH}(?P<year>{YEAR})(?!\w|{DASH}\d)",
    re.I,
)
CARPETA_FISCAL = re.compile(
    rf"(?<!\w)(?:carpetas?\s+fiscal(?:es)?\s*{NUMBER_SIGN}|carpeta\s*"
    rf"{NUMBER_SIGN.removesuffix('?')})"
    rf"(?P<n>\d{{1,12}}){DASH}(?P<year>{YEAR})(?P<rest>(?:{DASH}\d{{1,6}}){{0,3}})(?!\w)",
    re.I,
)
CASACION = re.compile(
    rf"(?<!\w)(?:casaci[oó]n|cas\.)\s*{NUMBER_SIGN}(?P<n>\d{{1,5}}){DASH}(?P<year>{YEAR})"
    rf"(?:\s?(?:{DASH}|/)\s?{PLACE})?(?!\w)",
    re.I,
)
RECURSO_NULIDAD = re.compile(
    rf"(?<!\w)(?:(?-i:R\.\s?N\.|RN)|recurso\s+de\s+nulidad)\s*{NUMBER_SIGN}"
    rf"(?P<n>\d{{1,5}}){DASH}(?P<year>{YEAR})(?:\s?(?:{DASH}|/)\s?{PLACE})?(?!\w)",
    re.I,
)


def _full(m: re.Match[str]) -> str:
    return (
        f"{int(m['n']):05d}-{m['year']}-{int(m['inc'])}-{int(m['dist']):04d}-"
        f"{m['org'].upper()}-{m['spec'].upper()}-{int(m['court']):02d}"
    )


def _tc(m: re.Match[str]) -> str:
    return f"{int(m['n']):05d}-{m['year']}-{fold_text(m['type']).upper()}/TC"


def _short(m: re.Match[str]) -> str:
    return f"{int(m['n']):05d}-{m['year']}"


def _carpeta(m: re.Match[str]) -> str:
    rest = [int(part) for part in re.split(DASH, m["rest"]) if part]
    return "CF " + "-".join(str(part) for part in (int(m["n"]), m["year"], *rest))


def _casacion(m: re.Match[str]) -> str:
    return f"CAS {int(m['n'])}-{m['year']}"


def _nulidad(m: re.Match[str]) -> str:
    return f"RN {int(m['n'])}-{m['year']}"


# Most specific first: where two forms overlap, the earlier-starting, then longer, then
# earlier-listed one wins ("Exp. 123-2019-1-5001-JR-PE-01" is never the short "123-2019").
FORMS: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    ("expediente", FULL_EXPEDIENTE, _full),
    ("expediente_tc", TC_EXPEDIENTE, _tc),
    ("carpeta_fiscal", CARPETA_FISCAL, _carpeta),
    ("casacion", CASACION, _casacion),
    ("recurso_nulidad", RECURSO_NULIDAD, _nulidad),
    ("expediente", SHORT_EXPEDIENTE, _short),
]


# Every form has a number, a dash and a year. The full patterns run only in windows around
# those (keyword before, districts and places after), never over a whole article.
NUMBER_YEAR = re.compile(rf"\d{DASH}{YEAR}")
BEFORE, AFTER = 60, 80


def _windows(text: str) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for hit in NUMBER_YEAR.finditer(text):
        start, end = max(hit.start() - BEFORE, 0), hit.end() + AFTER
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def find_case_numbers(text: str) -> list[dict[str, Any]]:
    """Every case number in `text`: kind, text, normalized, start, end (character offsets)."""
    candidates = set()
    for window_start, window_end in _windows(text):
        for priority, (kind, regex, normalize) in enumerate(FORMS):
            for m in regex.finditer(text, window_start, window_end):
                candidates.add((m.start(), -m.end(), priority, kind, normalize(m), m.end()))
    found: list[dict[str, Any]] = []
    taken_until = -1
    for start, _, _, kind, normalized, end in sorted(candidates):
        if start < taken_until:
            continue
        found.append({
            "kind": kind, "text": text[start:end], "normalized": normalized,
            "start": start, "end": end,
        })
        taken_until = end
    return found


def normalize_case_number(text: str) -> tuple[str, str] | None:
    """(kind, normalized) of the first case number in `text` (a user's search, say), if any.

    A bare number without keyword is read as a full expediente or a TC expediente only."""
    found = find_case_numbers(text)
    if found:
        return found[0]["kind"], found[0]["normalized"]
    return None


class CaseNumberFinder:
    """Store the case numbers of a doc in `doc._.case_numbers` (see find_case_numbers)."""

    def __call__(self, doc: Doc) -> Doc:
        doc._.case_numbers = find_case_numbers(doc.text)
        return doc
