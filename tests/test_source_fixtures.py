"""Every configured source parses pages that mirror its real site (see tests/replay.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pesquisa.sources import load_sources
from tests.replay import FIXTURES, load_fixture, replay

CONFIG = Path(__file__).parent.parent / "config" / "sources"
SOURCES = {source.id: source for source in load_sources(CONFIG)}


def test_every_source_has_a_fixture() -> None:
    missing = sorted(sid for sid in SOURCES if not (FIXTURES / sid / "manifest.yml").is_file())
    assert missing == []


def test_no_fixture_without_a_source() -> None:
    orphans = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in SOURCES)
    assert orphans == []


@pytest.mark.parametrize(
    "source_id", sorted(sid for sid in SOURCES if (FIXTURES / sid / "manifest.yml").is_file())
)
def test_source_parses_its_fixture(source_id: str, tmp_path: Path) -> None:
    source = SOURCES[source_id]
    pages, expected = load_fixture(source_id)
    assert expected, "a fixture must expect at least one article"
    result = replay(source, pages, tmp_path / "store.db")
    got = {item.url: item for item in result.items}
    assert len(got) == len(result.items), "an article was extracted twice"
    for want in expected:
        assert want["url"] in got, f"not extracted: {want['url']} (got {sorted(got)})"
        item = got[want["url"]]
        assert item.title == want["title"]
        assert item.published == want["published"]
        for passage in want["body"]:
            assert passage in item.text, f"{passage!r} not in the text of {want['url']}"
        for passage in want.get("not_in_body", []):  # page furniture that must not leak
            assert passage not in item.text, f"{passage!r} leaked into {want['url']}"
        for key in ("author", "section", "language", "content_type"):
            if key in want:
                assert getattr(item, key) == want[key], key
        for key, value in want.get("extra", {}).items():
            assert item.extra.get(key) == value, key
    assert sorted(got) == sorted(w["url"] for w in expected), "unexpected extra articles"
