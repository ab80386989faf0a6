"""Source health: each source's last crawl run, its last success, and its streak of failures.

A run FAILED when one of these holds:

- it finished and every one of the source's start URLs failed (`start_failures` reached the
  number of start URLs): the site is unreachable, or no longer serves the feed or sitemap;
- it finished without reaching a single article (new + updated + seen == 0) and recorded
  failures: every page it tried failed;
- it never finished (`finished_at` is empty) and either started more than `STALE_AFTER` ago
  or a later run of the same source has started since: its process died or was killed (the
  scheduler never runs one source twice at once).

Any other finished run succeeded, including a quiet one (nothing new, no failures, or every
feed answered 304) and a partial one (some pages failed, others arrived). A younger unfinished
run is RUNNING and counts neither way. An enabled source is flagged when its newest runs failed
`crawl.failing_runs_alert` times in a row (3 by default); one successful run resets the streak.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pesquisa.lima import LIMA
from pesquisa.settings import Settings
from pesquisa.sources import Source
from pesquisa.store import Store

log = logging.getLogger(__name__)

OK, FAILED, RUNNING = "ok", "failed", "running"
STALE_AFTER = timedelta(hours=12)  # longer than any crawl, backfills included


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    value = datetime.fromisoformat(stamp)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_state(run: Mapping[str, Any], starts: int, now: datetime, newest: bool) -> str:
    """OK, FAILED or RUNNING, by the rules in this module's docstring. `newest`: no later run
    of the source has started."""
    if run.get("finished_at") is None:
        started = _parse(run.get("started_at"))
        if not newest or started is None or now - started > STALE_AFTER:
            return FAILED
        return RUNNING
    if starts and int(run.get("start_failures") or 0) >= starts:
        return FAILED
    reached = sum(int(run.get(key) or 0) for key in ("new", "updated", "seen"))
    if reached == 0 and int(run.get("failures") or 0) > 0:
        return FAILED
    return OK


@dataclass(frozen=True)
class SourceHealth:
    """One source's health, for the CLI table, the API and the Fuentes page."""

    source: str
    name: str
    kind: str
    enabled: bool
    last_run: dict[str, Any] | None  # the crawl_runs row, plus "state" and "duration"
    last_success: str | None  # when the newest successful run finished
    streak: int  # failed runs in a row, newest first (running ones skipped)
    threshold: int

    @property
    def flagged(self) -> bool:
        # disabling a dead source is how a maintainer silences it; its streak stays shown
        return self.enabled and self.streak >= self.threshold

    @property
    def state(self) -> str:
        return self.last_run["state"] if self.last_run else "never"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "name": self.name, "kind": self.kind,
            "enabled": self.enabled, "state": self.state, "flagged": self.flagged,
            "streak": self.streak, "threshold": self.threshold,
            "last_success": self.last_success, "last_run": self.last_run,
        }


def duration(run: Mapping[str, Any]) -> float | None:
    """Seconds from start to finish of a finished run."""
    started, finished = _parse(run.get("started_at")), _parse(run.get("finished_at"))
    return None if started is None or finished is None else (finished - started).total_seconds()


def source_health(
    store: Store | None, source: Source, threshold: int, now: datetime | None = None
) -> SourceHealth:
    """Walk the source's runs newest first, up to its newest successful one."""
    now = now or datetime.now(UTC)
    last_run: dict[str, Any] | None = None
    last_success: str | None = None
    streak = 0
    runs: Iterable[dict[str, Any]] = store.iter_runs(source.id) if store is not None else ()
    for number, run in enumerate(runs):
        state = run_state(run, len(source.urls), now, newest=number == 0)
        if last_run is None:
            last_run = {**run, "state": state, "duration": duration(run)}
        if state == OK:
            last_success = run["finished_at"]
            break
        if state == FAILED:
            streak += 1
    return SourceHealth(source.id, source.name, source.kind, source.enabled, last_run,
                        last_success, streak, threshold)


def sources_health(
    settings: Settings, sources: Sequence[Source], now: datetime | None = None
) -> list[SourceHealth]:
    """Health of every source given; without a store yet, every one has never run."""
    threshold = settings.crawl.failing_runs_alert
    if not settings.store_path.exists():
        return [source_health(None, source, threshold, now) for source in sources]
    with Store(settings.store_path, read_only=True) as store:
        return [source_health(store, source, threshold, now) for source in sources]


def warn_failing(settings: Settings, sources: Sequence[Source]) -> list[SourceHealth]:
    """After a crawl: log one WARNING per source whose failed streak reached the threshold."""
    flagged = [h for h in sources_health(settings, sources) if h.flagged]
    for health in flagged:
        error = (health.last_run or {}).get("last_error") or "no error recorded"
        log.warning("source %s has failed %d crawl runs in a row (alert at %d); last error: %s",
                    health.source, health.streak, health.threshold, error)
    return flagged


# -- display ---------------------------------------------------------------------------------


def lima_time(stamp: str | None) -> str:
    """A stored UTC timestamp as Lima wall-clock time, to the minute."""
    value = _parse(stamp)
    return value.astimezone(LIMA).strftime("%Y-%m-%d %H:%M") if value else "-"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
