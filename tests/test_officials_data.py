"""The officials knowledge base (config/kb/officials.yml) is complete, well formed and unambiguous.

Reads the file with plain `yaml.safe_load`, so a journalist's edit is checked even when the
NLP loader is not involved.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

OFFICIALS = Path(__file__).resolve().parent.parent / "config" / "kb" / "officials.yml"
INSTITUTIONS = OFFICIALS.with_name("institutions.yml")
FIELDS = {"name", "id", "aliases", "acronyms", "roles", "sources", "notes"}
ROLE_FIELDS = {"role", "institution", "from", "to"}
DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def fold(text: str) -> str:
    """Accent-folded, lowercase words joined by one space: how the gazetteer compares names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.findall(r"\w+", plain))


def slug(text: str) -> str:
    return fold(text).replace(" ", "-").replace("_", "-")


def parse(value: Any) -> tuple[date, date] | None:
    """The first and last day a YYYY / YYYY-MM / YYYY-MM-DD value can mean; None for null."""
    if value is None:
        return None
    match = DATE.match(str(value))
    assert match, f"bad date {value!r}"
    year, month, day = match.groups()
    if day:
        exact = date(int(year), int(month), int(day))
        return exact, exact
    if month:
        first = date(int(year), int(month), 1)
        following = date(int(year) + (month == "12"), int(month) % 12 + 1, 1)
        return first, date.fromordinal(following.toordinal() - 1)
    return date(int(year), 1, 1), date(int(year), 12, 31)


@pytest.fixture(scope="module")
def officials() -> list[dict[str, Any]]:
    data = yaml.safe_load(OFFICIALS.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_at_least_150_officials(officials: list[dict[str, Any]]) -> None:
    assert len(officials) >= 150


def test_entries_have_required_fields(officials: list[dict[str, Any]]) -> None:
    for entry in officials:
        assert isinstance(entry, dict), entry
        assert set(entry) <= FIELDS, (entry.get("name"), set(entry) - FIELDS)
        assert isinstance(entry.get("name"), str) and fold(entry["name"]), entry
        assert isinstance(entry.get("aliases", []) or [], list), entry["name"]
        assert isinstance(entry.get("roles"), list) and entry["roles"], entry["name"]
        sources = entry.get("sources")
        assert isinstance(sources, list) and sources, entry["name"]
        assert all(isinstance(s, str) and s.strip() for s in sources), entry["name"]
        assert entry.get("notes") is None or isinstance(entry["notes"], str), entry["name"]


def test_roles_have_role_institution_and_ordered_dates(officials: list[dict[str, Any]]) -> None:
    for entry in officials:
        for role in entry["roles"]:
            assert isinstance(role, dict) and set(role) <= ROLE_FIELDS, (entry["name"], role)
            assert isinstance(role.get("role"), str) and role["role"].strip(), entry["name"]
            institution = role.get("institution")
            assert isinstance(institution, str) and SLUG.match(institution), (entry["name"], role)
            # Dates are quoted strings, so YAML never turns them into ints or date objects.
            for end in ("from", "to"):
                assert role.get(end) is None or isinstance(role[end], str), (entry["name"], role)
            start, stop = parse(role.get("from")), parse(role.get("to"))
            if start and stop:
                assert start[0] <= stop[1], (entry["name"], role)
            for bounds in (start, stop):
                if bounds:
                    assert date(2000, 1, 1) <= bounds[0] <= date(2030, 12, 31), entry["name"]


def test_ids_are_unique(officials: list[dict[str, Any]]) -> None:
    seen: dict[str, str] = {}
    for entry in officials:
        entity_id = slug(entry.get("id") or entry["name"])
        assert entity_id not in seen, (entry["name"], seen.get(entity_id))
        seen[entity_id] = entry["name"]


def test_no_alias_or_name_is_shared_by_two_officials(officials: list[dict[str, Any]]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for entry in officials:
        for surface in [entry["name"], *(entry.get("aliases") or [])]:
            owners[fold(surface)].add(entry["name"])
    shared = {key: sorted(names) for key, names in owners.items() if len(names) > 1}
    assert not shared


def test_aliases_are_not_bare_surnames_nor_repeats(officials: list[dict[str, Any]]) -> None:
    for entry in officials:
        keys = [fold(entry["name"])]
        for alias in entry.get("aliases") or []:
            assert isinstance(alias, str), (entry["name"], alias)
            assert len(fold(alias).split()) >= 2, (entry["name"], alias)
            assert fold(alias) not in keys, f"{alias!r} repeats a surface of {entry['name']!r}"
            keys.append(fold(alias))
        for acronym in entry.get("acronyms") or []:
            # Acronyms match case-sensitively, so only capitals make sense ("PPK").
            assert isinstance(acronym, str) and re.fullmatch(r"[A-ZÁÉÍÓÚÑ]{2,}", acronym)


def test_people_with_a_shared_surname_stay_apart(officials: list[dict[str, Any]]) -> None:
    names = {fold(entry["name"]) for entry in officials}
    pairs = [("pablo sanchez", "roberto sanchez"), ("pedro chavarry", "alfonso chavarry"),
             ("cesar hinostroza", "elizabeth hinostroza"), ("janet tello", "ines tello"),
             ("vladimir cerron", "waldemar cerron"), ("pedro castillo", "jorge del castillo"),
             ("betssy chavez", "martha chavez"), ("mercedes araoz", "antero flores araoz")]
    for first, second in pairs:
        assert first in names and second in names, (first, second)


@pytest.mark.skipif(not INSTITUTIONS.exists(), reason="institutions.yml not written yet")
def test_institutions_are_known() -> None:
    institutions = yaml.safe_load(INSTITUTIONS.read_text(encoding="utf-8")) or []
    known = {slug(item.get("id") or item["name"]) for item in institutions}
    officials = yaml.safe_load(OFFICIALS.read_text(encoding="utf-8"))
    used = {role["institution"] for entry in officials for role in entry["roles"]}
    assert used <= known, sorted(used - known)
