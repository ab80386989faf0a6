"""Sources are data: YAML files validated into Source objects, with clear errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawlers.runner import SPIDERS
from pesquisa.errors import FixInput
from pesquisa.sources import load_source_file, load_sources, select

GOOD = """
id: el-ejemplo
name: El Ejemplo
kind: feed
urls: ["https://www.ejemplo.pe/rss", "https://cdn.ejemplo.pe/rss2"]
schedule: "*/15 * * * *"
allowed_domains: [img.ejemplo.pe]
section_selector: "h1.title"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_source(tmp_path: Path) -> None:
    source = load_source_file(write(tmp_path, "a.yml", GOOD))
    assert source.id == "el-ejemplo"
    assert source.enabled is True
    assert source.hosts == ("www.ejemplo.pe", "cdn.ejemplo.pe", "img.ejemplo.pe")
    assert source.model_extra == {"section_selector": "h1.title"}  # kinds add their own fields
    lima_morning = datetime(2026, 1, 1, 10, 7, tzinfo=ZoneInfo("America/Lima"))
    fire = source.trigger().get_next_fire_time(None, lima_morning)
    assert fire is not None and (fire.hour, fire.minute) == (10, 15)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (GOOD.replace("kind: feed", "kind: magic"), "kind"),
        (GOOD.replace('schedule: "*/15 * * * *"', 'schedule: "every day"'), "schedule"),
        (GOOD.replace('"https://www.ejemplo.pe/rss", ', '"ftp://x.pe/a", '), "urls"),
        (GOOD.replace('"https://www.ejemplo.pe/rss", ', '"http://x.pe:99999/rss", '), "urls"),
        (GOOD.replace('["https://www.ejemplo.pe/rss", "https://cdn.ejemplo.pe/rss2"]',
                      '"https://www.ejemplo.pe/rss"'), "urls"),
        (GOOD.replace("[img.ejemplo.pe]", '["https://img.ejemplo.pe/"]'), "allowed_domains.0"),
        (GOOD.replace("id: el-ejemplo", "id: El Ejemplo!"), "id"),
        (GOOD.replace("name: El Ejemplo\n", ""), "name"),
        ("- just\n- a list\n", "(file)"),
    ],
)
def test_invalid_source_names_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, "bad.yml", text)
    with pytest.raises(FixInput) as caught:
        load_source_file(path)
    message = caught.value.message
    assert message.startswith("[E203]") and str(path) in message and f": {field}:" in message


def test_unreadable_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FixInput, match=r"E202.*no such file"):
        load_source_file(tmp_path / "nope.yml")
    path = write(tmp_path, "broken.yml", "id: [unclosed\n")
    with pytest.raises(FixInput, match="E202") as caught:
        load_source_file(path)
    assert "\n" not in caught.value.message


def test_folder_rules(tmp_path: Path) -> None:
    with pytest.raises(FixInput, match="E201"):
        load_sources(tmp_path / "none")
    write(tmp_path, "a.yml", GOOD)
    write(tmp_path, "b.yml", GOOD)
    with pytest.raises(FixInput, match=r"E204.*el-ejemplo"):
        load_sources(tmp_path)


def test_select_by_id(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", GOOD)
    write(tmp_path, "b.yml", GOOD.replace("el-ejemplo", "otro") + "enabled: false\n")
    sources = load_sources(tmp_path)
    assert [s.id for s in select(sources, [])] == ["el-ejemplo"]
    assert [s.id for s in select(sources, ["otro"])] == ["otro"]
    with pytest.raises(FixInput, match="E205"):
        select(sources, ["missing"])


def test_shipped_sources_are_valid() -> None:
    sources = load_sources(Path(__file__).parent.parent / "config" / "sources")
    assert len(sources) >= 15
    assert {s.kind for s in sources} <= set(SPIDERS)  # every shipped kind can be crawled
    assert all(s.enabled for s in sources)
