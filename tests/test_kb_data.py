"""The knowledge-base data in config/kb/ read as plain YAML: counts, fields, ids, no alias clashes.

Independent of the loader in nlp/kb.py on purpose, so that a data mistake and a loader
mistake fail different tests.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from pesquisa.ids import fold

KB = Path(__file__).resolve().parent.parent / "config" / "kb"

INSTITUTION_TYPES = {
    "prosecutor", "judiciary", "police", "ministry", "congress", "congress_committee",
    "oversight", "electoral", "constitutional", "executive", "regional_government",
    "municipality", "armed_forces", "other",
}
CRIME_GROUP_TYPES = {"domestic", "transnational", "terrorist", "corruption_network"}
COMMON = {"name", "id", "aliases", "acronyms", "notes", "sources", "type"}
FIELDS = {
    "institution": COMMON | {"parent"},
    "crime_group": COMMON | {"origin", "leaders"},
}
REQUIRED = {
    "institution": {"name", "aliases", "acronyms", "type", "sources"},
    "crime_group": {"name", "aliases", "acronyms", "type", "origin", "sources"},
}
ARTICLES = ("el ", "la ", "los ", "las ")


def key(text: str) -> str:
    """Accent-folded lowercase words joined by one space: how names and aliases match."""
    return " ".join(re.findall(r"\w+", fold(text)))


def slug(text: str) -> str:
    return "-".join(re.findall(r"\w+", fold(text))).replace("_", "-")


def entries(kind: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((KB / f"{kind}s.yml").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def entity_id(kind: str, entry: dict[str, Any]) -> str:
    return f"{kind}:{slug(entry.get('id') or entry['name'])}"


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict[str, Any]]]:
    return {kind: entries(kind) for kind in ("institution", "crime_group")}


def test_enough_entries(data: dict[str, list[dict[str, Any]]]) -> None:
    assert len(data["institution"]) >= 80
    assert len(data["crime_group"]) >= 50


@pytest.mark.parametrize("kind", ["institution", "crime_group"])
def test_fields_are_present_known_and_well_typed(
        data: dict[str, list[dict[str, Any]]], kind: str) -> None:
    types = INSTITUTION_TYPES if kind == "institution" else CRIME_GROUP_TYPES
    for entry in data[kind]:
        where = entry.get("name", entry)
        assert isinstance(entry, dict), where
        assert REQUIRED[kind] <= entry.keys(), (where, REQUIRED[kind] - entry.keys())
        assert entry.keys() <= FIELDS[kind], (where, entry.keys() - FIELDS[kind])
        assert isinstance(entry["name"], str) and key(entry["name"]), where
        assert entry["type"] in types, where
        for field in ("aliases", "acronyms", "sources", "leaders"):
            values = entry.get(field, [])
            assert isinstance(values, list), (where, field)
            assert all(isinstance(v, str) and v.strip() for v in values), (where, field)
        assert entry["sources"], where
        for acronym in entry["acronyms"]:
            # Acronyms match case-sensitively; an all-lowercase one would be a plain word.
            assert acronym != acronym.lower(), (where, acronym)
        surfaces = [entry["name"], *entry["aliases"]]
        assert len({s.casefold() for s in surfaces}) == len(surfaces), (where, "repeated alias")


def test_ids_are_unique_across_files(data: dict[str, list[dict[str, Any]]]) -> None:
    ids = [entity_id(kind, e) for kind, items in data.items() for e in items]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated


def test_no_name_or_alias_is_shared_by_two_entries(
        data: dict[str, list[dict[str, Any]]]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    exact: dict[str, set[str]] = defaultdict(set)
    for kind, items in data.items():
        for entry in items:
            eid = entity_id(kind, entry)
            for surface in (entry["name"], *entry["aliases"]):
                folded = key(surface)
                owners[folded].add(eid)
                # "Los Pulpos" and "Pulpos" must not name two different entities either.
                if folded.startswith(ARTICLES):
                    owners[folded.split(" ", 1)[1]].add(eid)
            for acronym in entry["acronyms"]:
                exact[acronym.strip()].add(eid)
    shared = {k: sorted(v) for k, v in owners.items() if len(v) > 1}
    assert not shared
    shared_acronyms = {k: sorted(v) for k, v in exact.items() if len(v) > 1}
    assert not shared_acronyms


def test_parents_exist(data: dict[str, list[dict[str, Any]]]) -> None:
    ids = {slug(e.get("id") or e["name"]) for e in data["institution"]}
    for entry in data["institution"]:
        parent = entry.get("parent")
        if parent is not None:
            assert parent in ids, (entry["name"], parent)
            assert parent != slug(entry.get("id") or entry["name"]), entry["name"]


def test_the_issue_examples_are_there(data: dict[str, list[dict[str, Any]]]) -> None:
    def surfaces(kind: str) -> set[str]:
        found: set[str] = set()
        for entry in data[kind]:
            found |= {key(s) for s in (entry["name"], *entry["aliases"])}
            found |= set(entry["acronyms"])
        return found

    institutions = surfaces("institution")
    for text in ["Ministerio Público", "Fiscalía de la Nación", "MP", "PNP", "Policía Nacional",
                 "DIVIAC", "Poder Judicial", "Corte Suprema", "JNJ", "TC", "Contraloría",
                 "UIF"]:
        assert (key(text) in institutions) or (text in institutions), text
    groups = surfaces("crime_group")
    for text in ["Los Cuellos Blancos del Puerto", "Los Pulpos", "Tren de Aragua",
                 "Los Dinámicos del Centro", "Los Niños", "Sendero Luminoso", "MPCP",
                 "Comando Vermelho", "PCC", "Los Choneros", "Clan del Golfo",
                 "Cártel de Sinaloa", "CJNG"]:
        assert (key(text) in groups) or (text in groups), text
