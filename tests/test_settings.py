"""Settings: file, then environment, then CLI flags; bad values name their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pesquisa.errors import FixInput
from pesquisa.settings import load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config/pesquisa.toml here
    settings = load_settings(None, environ={})
    assert settings.index_backend == "sqlite"
    assert settings.data_dir == Path("data")
    assert settings.web.port == 8000


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = write(tmp_path / "p.toml", 'data_dir = "from-file"\n[crawl]\ndownload_delay = 3\n')
    env = {"PESQUISA_DATA_DIR": "from-env", "PESQUISA_CRAWL__DOWNLOAD_DELAY": "0.5"}
    assert load_settings(config, environ={}).data_dir == Path("from-file")
    settings = load_settings(config, environ=env)
    assert settings.data_dir == Path("from-env")
    assert settings.crawl.download_delay == 0.5
    flagged = load_settings(config, overrides={"data_dir": Path("from-flag")}, environ=env)
    assert flagged.data_dir == Path("from-flag")
    assert flagged.store_path == Path("from-flag") / "pesquisa.db"


def test_config_named_by_environment(tmp_path: Path) -> None:
    config = write(tmp_path / "p.toml", 'index_url = "http://es:9200"\n')
    settings = load_settings(environ={"PESQUISA_CONFIG": str(config)})
    assert settings.index_url == "http://es:9200"


def test_documented_environment_variables(tmp_path: Path) -> None:
    env = {
        "PESQUISA_DATA_DIR": str(tmp_path / "d"),
        "PESQUISA_SOURCES": str(tmp_path / "s"),
        "PESQUISA_INDEX_BACKEND": "elasticsearch",
        "PESQUISA_INDEX_URL": "http://localhost:9200",
    }
    settings = load_settings(environ=env)
    assert settings.data_dir == tmp_path / "d"
    assert settings.sources == tmp_path / "s"
    assert settings.index_backend == "elasticsearch"
    assert settings.index_url == "http://localhost:9200"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PESQUISA_INDEX_BACKEND": "solr"}, "index_backend"),
        ({"PESQUISA_WEB__PORT": "eighty"}, "web.port"),
        ({"PESQUISA_CRAWL__DOWNLOAD_DELAY": "-1"}, "crawl.download_delay"),
        ({"PESQUISA_NOPE": "1"}, "PESQUISA_NOPE"),
    ],
)
def test_bad_environment_value_names_the_key(env: dict[str, str], needle: str) -> None:
    with pytest.raises(FixInput) as caught:
        load_settings(environ=env)
    assert needle in caught.value.message
    assert "\n" not in caught.value.message


def test_bad_file_values(tmp_path: Path) -> None:
    with pytest.raises(FixInput, match="E101"):
        load_settings(tmp_path / "missing.toml", environ={})
    broken = write(tmp_path / "broken.toml", "data_dir = \n")
    with pytest.raises(FixInput, match="E102"):
        load_settings(broken, environ={})
    unknown = write(tmp_path / "unknown.toml", "[crawl]\nspeed = 3\n")
    with pytest.raises(FixInput, match=r"E104.*crawl\.speed"):
        load_settings(unknown, environ={})


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    again = load_settings(environ=settings.to_env())
    assert again == settings
