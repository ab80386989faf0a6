"""Settings: file, then environment, then CLI flags; bad values name their key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pesquisa.errors import FixInput
from pesquisa.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


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


ES_ENV = {
    "PESQUISA_INDEX_BACKEND": "elasticsearch",
    "PESQUISA_INDEX_URL": "https://es.example:9200",
    "PESQUISA_ELASTICSEARCH__INDEX": "newsroom",
    "PESQUISA_ELASTICSEARCH__USERNAME": "pesquisa",
    "PESQUISA_ELASTICSEARCH__PASSWORD": "pa ss=wörd\"'",
    "PESQUISA_ELASTICSEARCH__API_KEY": "aWQ6a2V5==",
    "PESQUISA_ELASTICSEARCH__CA_CERTS": "certs/http_ca.crt",
    "PESQUISA_ELASTICSEARCH__VERIFY_CERTS": "false",
    "PESQUISA_ELASTICSEARCH__SHARDS": "3",
    "PESQUISA_ELASTICSEARCH__REPLICAS": "1",
    "PESQUISA_ELASTICSEARCH__TIMEOUT": "12.5",
}


def test_the_elasticsearch_section_round_trips_to_a_child(tmp_path: Path) -> None:
    """A crawl subprocess gets the same index settings, secrets included, from to_env()."""
    settings = load_settings(overrides={"data_dir": tmp_path}, environ=ES_ENV)
    es = settings.elasticsearch
    assert (es.index, es.username, es.api_key, es.shards, es.replicas, es.timeout) == (
        "newsroom", "pesquisa", "aWQ6a2V5==", 3, 1, 12.5)
    assert es.password == "pa ss=wörd\"'" and es.ca_certs == Path("certs/http_ca.crt")
    assert es.verify_certs is False
    env = settings.to_env()
    assert env["PESQUISA_ELASTICSEARCH__VERIFY_CERTS"] == "false"
    assert load_settings(environ=env) == settings


def test_secrets_stay_out_of_reprs_and_error_lines(tmp_path: Path) -> None:
    settings = load_settings(environ=ES_ENV)
    for secret in ("pa ss=wörd", "aWQ6a2V5"):
        assert secret not in repr(settings) and secret not in str(settings)
    config = write(tmp_path / "p.toml", "[elasticsearch]\npassword = 98765432\n")
    with pytest.raises(FixInput) as caught:  # a number where a string goes: name it, not it
        load_settings(config, environ={})
    assert "elasticsearch.password" in caught.value.message
    assert "98765432" not in caught.value.message


def test_credentials_in_the_url_move_to_the_elasticsearch_section() -> None:
    """`https://user:pass@host` works as in curl, but the URL is what messages and logs show:
    the credentials leave it for [elasticsearch] username/password."""
    settings = load_settings(environ={
        "PESQUISA_INDEX_URL": "https://elastic:s%40cr3t@es.example:9200/"})
    assert settings.index_url == "https://es.example:9200/"
    assert settings.elasticsearch.username == "elastic"
    assert settings.elasticsearch.password == "s@cr3t"
    assert load_settings(environ=settings.to_env()) == settings
    explicit = load_settings(environ={  # the section's own credentials win
        "PESQUISA_INDEX_URL": "http://elastic:old@es.example:9200",
        "PESQUISA_ELASTICSEARCH__API_KEY": "aWQ6a2V5"})
    assert explicit.index_url == "http://es.example:9200"
    assert explicit.elasticsearch.username is None and explicit.elasticsearch.password is None


def test_an_empty_environment_value_unsets_an_optional_key() -> None:
    """`PESQUISA_ELASTICSEARCH__CA_CERTS=` (a compose file's `${CA:-}`) means none, not '.'."""
    settings = load_settings(environ={"PESQUISA_ELASTICSEARCH__CA_CERTS": "",
                                      "PESQUISA_ELASTICSEARCH__API_KEY": "",
                                      "PESQUISA_INDEX_URL": ""})
    assert settings.elasticsearch.ca_certs is None and settings.elasticsearch.api_key is None
    assert settings.index_url is None
    with pytest.raises(FixInput, match=r"elasticsearch\.shards"):  # required ones stay required
        load_settings(environ={"PESQUISA_ELASTICSEARCH__SHARDS": ""})


def test_the_compose_file_runs_pesquisa_on_a_healthy_elasticsearch() -> None:
    """docker-compose.yml: a memory-limited node with a data volume and a healthcheck; the app
    waits for it to be healthy, and its environment is settings this Pesquisa accepts."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    es, app = compose["services"]["elasticsearch"], compose["services"]["pesquisa"]
    assert es["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:8.")
    assert es["mem_limit"] and "healthcheck" in es
    assert any(v.endswith(":/usr/share/elasticsearch/data") for v in es["volumes"])
    heap = next(e for e in es["environment"] if e.startswith("ES_JAVA_OPTS="))
    assert "-Xmx1g" in heap and es["mem_limit"] == "2g"  # heap at half the container's memory
    assert app["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert any(v.endswith(":/data") for v in app["volumes"])
    env = dict(item.split("=", 1) for item in app["environment"])
    settings = load_settings(environ=env)
    assert settings.index_backend == "elasticsearch"
    assert settings.index_url == "http://elasticsearch:9200"
    assert settings.data_dir == Path("/data")


def test_a_malformed_url_with_credentials_leaks_nothing() -> None:
    with pytest.raises(FixInput) as caught:
        load_settings(environ={"PESQUISA_INDEX_URL": "http://u:Secret1@[broken",
                               "PESQUISA_ELASTICSEARCH__PASSWORD": "Secret2",
                               "PESQUISA_ELASTICSEARCH__SHARDS": "none"})
    assert "Secret" not in caught.value.message and "shards" in caught.value.message
    odd = load_settings(environ={"PESQUISA_INDEX_URL": "http://u:p@ss@es.example:9200/x@y"})
    assert odd.index_url == "http://es.example:9200/x@y"  # the last @ of the host part ends it
    assert (odd.elasticsearch.username, odd.elasticsearch.password) == ("u", "p@ss")
