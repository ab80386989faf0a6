"""Tag crime types (extorsión, sicariato, colusión...) per document and sentence, mapped to the
Código Penal, from the editable table `config/kb/crime_types.yml`."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from spacy.tokens import Doc

from nlp import extensions  # noqa: F401  (registers doc._.crime_types)
from pesquisa.errors import FixInput

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "kb" / "crime_types.yml"



class Variant(BaseModel):
    """A more specific form of a crime type ("peculado de uso", art. 388)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    article: str
    patterns: list[str] = Field(min_length=1)


class CrimeType(BaseModel):
    """One row of config/kb/crime_types.yml."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    law: str
    article: str
    patterns: list[str] = Field(min_length=1)
    acronyms: list[str] = []
    not_after: list[str] = []
    variants: list[Variant] = []
    notes: str | None = None
    sources: list[str] = []

    @field_validator("article", mode="before")
    @classmethod
    def _article_as_text(cls, value: Any) -> Any:
        # `article: 200` in YAML is an int; an article is a label, not a number
        return str(value) if isinstance(value, int) else value


def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    if len(folded) == 1:
        return folded
    lower = ch.lower()
    return lower if len(lower) == 1 else ch


# One character in, one character out, so offsets in the folded text are offsets in the
# original: 'Extorsión' -> 'extorsion'. Covers Latin-1 and Latin Extended; other scripts stay.
FOLD_TABLE = {code: _fold_char(chr(code)) for code in range(0x250)}
FOLD_TABLE.update({ord(ch): _fold_char(ch) for ch in "ẞ"})


def fold_text(text: str) -> str:
    """Lowercase and strip accents, keeping the length (and so every offset) of `text`."""
    return text.translate(FOLD_TABLE)


def pattern_atoms(pattern: str) -> list[str]:
    """A pattern of the table as regex atoms over folded text: one per character, `\\s+`
    between words (any whitespace), `\\w*` for a `*` at the end of a word (any ending)."""
    atoms: list[str] = []
    for word in fold_text(pattern).split():
        if atoms:
            atoms.append(r"\s+")
        atoms += [re.escape(ch) for ch in word.rstrip("*")]
        if word.endswith("*"):
            atoms.append(r"\w*")
    return atoms


def pattern_regex(pattern: str) -> str:
    return "".join(pattern_atoms(pattern))


def trie_regex(sequences: Iterable[list[str]]) -> str:
    """One regex for many atom sequences, as a trie: at each position the engine follows one
    branch per character instead of trying every pattern, and prefers the longer match."""
    trie: dict[str, Any] = {}
    for atoms in sequences:
        node = trie
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [atom + emit(child) for atom, child in node.items() if atom]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return body + "?" if len(branches) == 1 and len(branches[0]) == 1 else \
                f"(?:{body})?"
        return body

    return emit(trie)


def load_table(path: Path | str = DEFAULT_PATH) -> list[CrimeType]:
    """Read and validate the crime-type table; a bad file is one coded line naming the field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FixInput("E420", path=path, reason=str(exc).splitlines()[0]) from None
    if not isinstance(raw, list):
        raise FixInput("E421", path=path, field="(top level)", reason="expected a list")
    table = []
    for index, row in enumerate(raw):
        try:
            table.append(CrimeType.model_validate(row))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in (index, *error["loc"]))
            raise FixInput("E421", path=path, field=where, reason=error["msg"]) from None
    codes = [row.code for row in table]
    for code in codes:
        if codes.count(code) > 1:
            raise FixInput("E421", path=path, field=code, reason="duplicate code")
    return table


class CrimeTypeTagger:
    """Find every mention of a crime type and store it in `doc._.crime_types`.

    All patterns go into one trie-shaped regex over the folded text that prefers the longest
    match, so that "cohecho pasivo propio" wins over "cohecho" and "peculado de uso" over
    "peculado"; the matched words then name the form (literal patterns by lookup, `*` patterns
    by trying them, longest first).
    Each occurrence is a dict: code, name, law, article, text, start, end (character offsets
    into doc.text) and sentence (index among doc.sents; 0 when the doc has no sentences).
    """

    def __init__(self, table: Iterable[CrimeType]) -> None:
        self.table = list(table)
        # per regex group: (code, name, law, article, index into self.table)
        self.targets: list[tuple[str, str, str, str, int]] = []
        phrases: list[tuple[str, int]] = []
        acronyms: list[tuple[str, int]] = []
        for index, row in enumerate(self.table):
            forms = [(row.name, row.article, row.patterns)]
            forms += [(v.name, v.article, v.patterns) for v in row.variants]
            for name, article, patterns in forms:
                target = len(self.targets)
                self.targets.append((row.code, name, row.law, article, index))
                phrases += [(p, target) for p in patterns]
            target = len(self.targets)
            self.targets.append((row.code, row.name, row.law, row.article, index))
            acronyms += [(a, target) for a in row.acronyms]
        self.literals: dict[str, int] = {}
        self.wildcards: list[tuple[re.Pattern[str], int]] = []
        for phrase, target in phrases:
            key = " ".join(fold_text(phrase).split())
            if "*" in key:
                self.wildcards.append((re.compile(pattern_regex(phrase)), target))
            else:
                self.literals.setdefault(key, target)
        self.wildcards.sort(key=lambda item: -len(item[0].pattern.replace(r"\w*", "")))
        self.phrase_re = re.compile(
            r"(?<!\w)" + trie_regex(pattern_atoms(p) for p, _ in phrases) + r"(?!\w)"
        ) if phrases else None
        self.acronyms = dict(acronyms)
        self.acronym_re = re.compile(
            r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, self.acronyms), key=len,
                                              reverse=True)) + r")(?!\w)"
        ) if acronyms else None
        self.not_after = [
            re.compile(r"(?<!\w)(?:" + "|".join(pattern_regex(w) for w in row.not_after)
                       + r")\s+$")
            if row.not_after else None
            for row in self.table
        ]

    def target(self, matched: str) -> int:
        """The form (index into self.targets) a folded match of phrase_re belongs to."""
        key = " ".join(matched.split())
        if key in self.literals:
            return self.literals[key]
        for regex, target in self.wildcards:
            if regex.fullmatch(matched):
                return target
        raise AssertionError(f"no pattern for {matched!r}")  # the trie holds only patterns

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, target) of every mention in `text`, in order."""
        found: list[tuple[int, int, int]] = []
        folded = fold_text(text)
        if self.phrase_re is not None:
            for match in self.phrase_re.finditer(folded):
                target = self.target(match.group())
                start = match.start()
                guard = self.not_after[self.targets[target][4]]
                if guard is not None and guard.search(folded, max(0, start - 40), start):
                    continue
                found.append((start, match.end(), target))
        if self.acronym_re is not None:
            for match in self.acronym_re.finditer(text):
                found.append((match.start(), match.end(), self.acronyms[match.group()]))
        found.sort()
        return found

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        found = self.find(text)
        starts: list[int] = []
        if found and doc.has_annotation("SENT_START"):
            starts = [sent.start_char for sent in doc.sents]
        doc._.crime_types = [
            {
                "code": code, "name": name, "law": law, "article": article,
                "text": text[start:end], "start": start, "end": end,
                "sentence": max(bisect_right(starts, start) - 1, 0),
            }
            for start, end, (code, name, law, article, _) in (
                (s, e, self.targets[t]) for s, e, t in found
            )
        ]
        return doc


def document_crime_types(doc: Doc) -> list[str]:
    """The distinct crime-type codes of a document, in order of first mention."""
    return list(dict.fromkeys(found["code"] for found in doc._.crime_types or []))


def sentence_crime_types(doc: Doc) -> dict[int, list[str]]:
    """Sentence index -> distinct crime-type codes mentioned in that sentence."""
    by_sentence: dict[int, dict[str, None]] = {}
    for found in doc._.crime_types or []:
        by_sentence.setdefault(found["sentence"], {})[found["code"]] = None
    return {index: list(codes) for index, codes in by_sentence.items()}
