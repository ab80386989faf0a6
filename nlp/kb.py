"""The knowledge base: institutions, crime groups and officials from config/kb/*.yml, validated.

Journalists edit the YAML; a bad file is one coded line naming the file, the entry and the
field. Names and aliases match accent-folded and case-insensitive; `acronyms` match exactly as
written ("MP", "TC"), because folded they would be ordinary words ("mp", "tc").
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pesquisa.errors import FixInput
from pesquisa.ids import fold

log = logging.getLogger(__name__)

FILES = {"institution": "institutions.yml", "crime_group": "crime_groups.yml",
         "official": "officials.yml"}
LABELS = {"institution": "ORG", "crime_group": "ORG", "official": "PER"}
ARTICLES = frozenset({"el", "la", "los", "las"})
_WORD = re.compile(r"\w+")

DateText = str | int | date | None


def key(text: str) -> str:
    """The matching key of a name: accent-folded, lowercase words joined by one space."""
    return " ".join(_WORD.findall(fold(text)))


def slug(text: str) -> str:
    return "-".join(_WORD.findall(fold(text))).replace("_", "-")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    id: str | None = None
    aliases: list[str] = []
    acronyms: list[str] = []
    notes: str | None = None
    sources: list[str] = []

    @field_validator("name")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not key(value):
            raise ValueError("must contain letters or digits")
        return " ".join(value.split())

    @field_validator("aliases", "acronyms", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class Institution(_Entry):
    type: Literal[
        "prosecutor", "judiciary", "police", "ministry", "congress", "congress_committee",
        "oversight", "electoral", "constitutional", "executive", "regional_government",
        "municipality", "armed_forces", "other",
    ]
    parent: str | None = None


class CrimeGroup(_Entry):
    origin: str | None = None
    type: Literal["domestic", "transnational", "terrorist", "corruption_network"]
    leaders: list[str] = []


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    role: str
    institution: str | None = None
    start: DateText = Field(None, alias="from")
    end: DateText = Field(None, alias="to")


class Official(_Entry):
    roles: list[Role] = []


MODELS: dict[str, type[_Entry]] = {
    "institution": Institution, "crime_group": CrimeGroup, "official": Official,
}


@dataclass(frozen=True)
class Entity:
    """One knowledge-base entry, ready for matching."""

    id: str  # "official:dina-boluarte"
    kind: str
    name: str
    record: _Entry = field(compare=False, repr=False)

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def aliases(self) -> list[str]:
        return list(self.record.aliases)

    @property
    def acronyms(self) -> list[str]:
        return list(self.record.acronyms)

    @property
    def roles(self) -> list[str]:
        return [r.role for r in self.record.roles] if isinstance(self.record, Official) else []

    def surfaces(self) -> Iterator[str]:
        """Name and aliases (not acronyms), as written in the file."""
        yield self.name
        yield from self.record.aliases


@dataclass
class KnowledgeBase:
    """Entities with their matching tables. Ambiguous keys are left out of both tables."""

    entities: list[Entity] = field(default_factory=list)
    by_id: dict[str, Entity] = field(default_factory=dict)
    folded: dict[str, Entity] = field(default_factory=dict)  # key(name or alias) -> entity
    exact: dict[str, Entity] = field(default_factory=dict)  # acronym as written -> entity
    collisions: dict[str, list[str]] = field(default_factory=dict)  # key -> entity ids

    @classmethod
    def from_entities(cls, entities: Iterable[Entity]) -> KnowledgeBase:
        kb = cls(entities=list(entities))
        kb.by_id = {e.id: e for e in kb.entities}
        names: dict[str, set[str]] = defaultdict(set)
        aliases: dict[str, set[str]] = defaultdict(set)
        acronyms: dict[str, set[str]] = defaultdict(set)
        for entity in kb.entities:
            names[key(entity.name)].add(entity.id)
            for alias in entity.record.aliases:
                aliases[key(alias)].add(entity.id)
            for acronym in entity.record.acronyms:
                acronyms[acronym.strip()].add(entity.id)
        for folded_key in names.keys() | aliases.keys():
            # A canonical name beats someone else's alias; two names or two aliases collide.
            owners = names.get(folded_key) or aliases[folded_key]
            if len(owners) == 1:
                kb.folded[folded_key] = kb.by_id[next(iter(owners))]
                others = aliases.get(folded_key, set()) - owners
                if others:
                    kb.collisions[folded_key] = sorted(owners | others)
            else:
                kb.collisions[folded_key] = sorted(owners)
        for acronym, owners in acronyms.items():
            if len(owners) == 1:
                kb.exact[acronym] = kb.by_id[next(iter(owners))]
            else:
                kb.collisions[acronym] = sorted(owners)
        for text, owners_list in sorted(kb.collisions.items()):
            log.warning("knowledge base: %r is shared by %s; %s", text, ", ".join(owners_list),
                        "kept for the entity it names" if text in kb.folded or text in kb.exact
                        else "not matched")
        return kb

    def lookup(self, text: str) -> Entity | None:
        """The entity a name, alias or acronym refers to; a leading article is optional."""
        stripped = text.strip(" \t\n.,;:\"'«»“”‘’()")
        if stripped in self.exact:
            return self.exact[stripped]
        folded = key(stripped)
        if folded in self.folded:
            return self.folded[folded]
        first, _, rest = folded.partition(" ")
        if first in ARTICLES and rest in self.folded:
            return self.folded[rest]
        return None

    def aliases(self, entity_id: str) -> list[str]:
        entity = self.by_id.get(entity_id)
        return [*entity.aliases, *entity.acronyms] if entity else []

    def __len__(self) -> int:
        return len(self.entities)


def _read(path: Path) -> list[Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FixInput("E402", path=path, reason=" ".join(str(exc).split())) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise FixInput("E402", path=path, reason="expected a list of entries")
    return data


def _entries(path: Path, kind: str) -> Iterator[Entity]:
    model = MODELS[kind]
    for number, raw in enumerate(_read(path), start=1):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"{number} ({name})" if name else str(number)
        if not isinstance(raw, dict):
            raise FixInput("E403", path=path, entry=where, field="-", reason="not a mapping")
        try:
            record = model.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = ".".join(str(p) for p in error["loc"]) or "-"
            raise FixInput("E403", path=path, entry=where, field=loc, reason=error["msg"]) from None
        yield Entity(id=f"{kind}:{slug(record.id or record.name)}", kind=kind, name=record.name,
                     record=record)


def load_kb(folder: Path | str | None) -> KnowledgeBase:
    """Read the three KB files of `folder`; a missing folder or file is an empty part."""
    if folder is None:
        return KnowledgeBase()
    folder = Path(folder)
    if not folder.is_dir():
        # a warning: the default config/kb is relative, so another working folder loses it
        log.warning("knowledge base folder %s not found: gazetteer off", folder)
        return KnowledgeBase()
    entities: list[Entity] = []
    seen: dict[str, Path] = {}
    for kind, filename in FILES.items():
        path = folder / filename
        if not path.exists():
            log.info("knowledge base file %s not found: no %s entries", path, kind)
            continue
        for entity in _entries(path, kind):
            if entity.id in seen:
                raise FixInput("E404", id=entity.id, path=path, other=seen[entity.id])
            seen[entity.id] = path
            entities.append(entity)
    kb = KnowledgeBase.from_entities(entities)
    log.info("knowledge base %s: %d entities", folder, len(kb))
    return kb


def _mtimes(folder: Path) -> tuple[float, ...]:
    return tuple((folder / f).stat().st_mtime if (folder / f).exists() else 0.0
                 for f in FILES.values())


@lru_cache(maxsize=8)
def _cached(folder: str, mtimes: tuple[float, ...]) -> KnowledgeBase:
    return load_kb(folder)


def shared_kb(folder: Path | str | None) -> KnowledgeBase:
    """One loaded knowledge base per folder (and file versions), shared by the components."""
    if not folder:
        return KnowledgeBase()
    path = Path(folder).resolve()
    return _cached(str(path), _mtimes(path))
