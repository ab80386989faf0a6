"""Sources are data: one YAML file per outlet or bulletin, validated into Source objects."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from pesquisa.errors import FixInput
from pesquisa.lima import LIMA
from pesquisa.source_fields import validate_kind_fields

SourceKind = Literal["feed", "sitemap", "listing", "bulletin", "api"]


class Source(BaseModel):
    """One source. Kinds may carry extra fields of their own, kept in `model_extra`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    name: str = Field(min_length=1)
    kind: SourceKind
    urls: tuple[str, ...] = Field(min_length=1)
    schedule: str
    enabled: bool = True
    allowed_domains: tuple[
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")], ...
    ] = ()
    language: str = "es"
    # Near-duplicate clustering (pesquisa/dedup.py) suits news, where wire copy is reprinted.
    # Legal norms and rulings share long boilerplate yet each is its own document: sources of
    # those set this to false, and only exact copies of their documents are clustered.
    near_duplicates: bool = True
    path: Path | None = Field(None, exclude=True)

    @field_validator("urls")
    @classmethod
    def _http_urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            try:
                parts = urlsplit(url)
                parts.port  # noqa: B018  (raises ValueError on a bad port)
            except ValueError:
                raise ValueError(f"malformed URL: {url!r}") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
        return urls

    @field_validator("schedule")
    @classmethod
    def _cron(cls, schedule: str) -> str:
        try:
            CronTrigger.from_crontab(schedule, timezone=LIMA)
        except ValueError as exc:
            raise ValueError(f"not a cron expression ({exc})") from None
        return schedule

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts this source may fetch from: those of its URLs plus allowed_domains."""
        found = [_ascii_host(urlsplit(url).hostname or "") for url in self.urls]
        return tuple(dict.fromkeys([*found, *self.allowed_domains]))

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.schedule, timezone=LIMA)


def _ascii_host(host: str) -> str:
    """The host as requests carry it: an internationalized name in its punycode form."""
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def parse_source(data: Any, path: Path) -> Source:
    if not isinstance(data, dict):
        raise FixInput("E203", path=path, field="(file)", reason="expected a mapping of fields")
    try:
        source = Source.model_validate({**data, "path": path})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "(file)"
        raise FixInput("E203", path=path, field=field, reason=error["msg"]) from None
    validate_kind_fields(source.kind, source.model_extra, path)  # listing, bulletin, api
    return source


def load_source_file(path: Path) -> Source:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixInput("E202", path=path, reason="no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise FixInput("E202", path=path, reason=reason) from None
    return parse_source(data, path)


def source_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FixInput("E201", path=folder)
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def load_sources(folder: Path) -> list[Source]:
    """Load every source file; the first bad file raises FixInput naming file and field."""
    sources: dict[str, Source] = {}
    for path in source_files(folder):
        source = load_source_file(path)
        if source.id in sources:
            raise FixInput("E204", id=source.id, path=path, other=sources[source.id].path)
        sources[source.id] = source
    return list(sources.values())


def select(sources: Iterable[Source], ids: Iterable[str]) -> list[Source]:
    """The sources named by id (all enabled ones when no id is given)."""
    wanted = list(ids)
    by_id = {source.id: source for source in sources}
    if not wanted:
        return [source for source in by_id.values() if source.enabled]
    for source_id in wanted:
        if source_id not in by_id:
            raise FixInput("E205", id=source_id)
    return [by_id[source_id] for source_id in wanted]


def write_source(source: dict[str, Any], folder: Path) -> Path:
    """Write a source definition as YAML (used by the demo)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source['id']}.yml"
    path.write_text(yaml.safe_dump(source, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
