"""Source health: failed runs, streaks and the flag, in the store, the CLI, the log and the UI."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pesquisa.health import (
    FAILED,
    OK,
    RUNNING,
    SourceHealth,
    duration_text,
    lima_time,
    source_health,
    sources_health,
)
from pesquisa.settings import Settings, load_settings
from pesquisa.sources import Source, load_sources, write_source
from pesquisa.store import RunCounts, Store
from pesquisa.web.app import create_app
from pesquisa.web.strings import UI
from tests.conftest import Workspace

FEED = {"kind": "feed", "schedule": "*/30 * * * *"}
SOURCES = [
    {"id": "roto", "name": "Diario Roto", "urls": ["https://roto.example/feed.xml"], **FEED},
    {"id": "sano", "name": "Diario Sano", "urls": ["https://sano.example/a.xml",
                                                   "https://sano.example/b.xml"], **FEED},
    {"id": "nuevo", "name": "Diario Nuevo", "urls": ["https://nuevo.example/rss"], **FEED},
]

DEAD = RunCounts(fetched=0, failures=1, start_failures=1, last_error="ConnectionRefusedError")
NOTHING_ARRIVED = RunCounts(fetched=6, failures=5, last_error="HTTP 500 (https://x/5)")
GOOD = RunCounts(fetched=4, new=3, seen=1)
PARTIAL = RunCounts(fetched=5, new=1, failures=3, start_failures=1, last_error="HTTP 404")
QUIET = RunCounts(fetched=2, not_modified=1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    folder = tmp_path / "sources"
    for source in SOURCES:
        write_source(source, folder)
    return load_settings(overrides={"data_dir": tmp_path / "data", "sources": folder},
                         environ={})


def record(store: Store, source: str, *runs: RunCounts) -> None:
    for counts in runs:
        store.finish_run(store.start_run(source), counts)


def health_of(settings: Settings, source_id: str, now: datetime | None = None) -> SourceHealth:
    (found,) = [h for h in sources_health(settings, load_sources(settings.sources), now)
                if h.source == source_id]
    return found


def test_streak_counts_failed_runs_and_a_success_resets_it(settings: Settings) -> None:
    with Store(settings.store_path) as store:
        record(store, "roto", GOOD, DEAD, NOTHING_ARRIVED)
    roto = health_of(settings, "roto")
    assert (roto.state, roto.streak, roto.flagged) == (FAILED, 2, False)
    assert roto.last_success is not None
    assert roto.last_run is not None and roto.last_run["last_error"].startswith("HTTP 500")

    with Store(settings.store_path) as store:
        record(store, "roto", DEAD)
    roto = health_of(settings, "roto")
    assert (roto.streak, roto.flagged) == (3, True)  # failing_runs_alert is 3 by default

    with Store(settings.store_path) as store:
        record(store, "roto", QUIET)  # nothing new and no failure: the source is fine
    roto = health_of(settings, "roto")
    assert (roto.state, roto.streak, roto.flagged) == (OK, 0, False)


def test_a_partial_run_is_a_success_when_one_start_url_of_two_works(settings: Settings) -> None:
    with Store(settings.store_path) as store:
        record(store, "sano", DEAD, DEAD, DEAD, PARTIAL)
        # the same counts fail a source with a single start URL
        record(store, "roto", PARTIAL)
    assert health_of(settings, "sano").streak == 0
    assert health_of(settings, "roto").streak == 1


def test_unfinished_runs_are_running_until_stale_or_superseded(settings: Settings) -> None:
    with Store(settings.store_path) as store:
        record(store, "roto", DEAD, DEAD)
        store.start_run("roto")  # in progress (or its process died)
    now = datetime.now(UTC)
    roto = health_of(settings, "roto", now)
    assert (roto.state, roto.streak, roto.flagged) == (RUNNING, 2, False)
    later = health_of(settings, "roto", now + timedelta(hours=13))
    assert (later.state, later.streak, later.flagged) == (FAILED, 3, True)
    with Store(settings.store_path) as store:
        store.start_run("roto")  # a newer run started: the older one died
    roto = health_of(settings, "roto", now)
    assert (roto.state, roto.streak) == (RUNNING, 3)


def test_threshold_comes_from_settings(settings: Settings) -> None:
    with Store(settings.store_path) as store:
        record(store, "roto", DEAD)
        source = Source.model_validate(SOURCES[0])
        assert source_health(store, source, threshold=1).flagged
        assert not source_health(store, source, threshold=2).flagged


def test_without_a_store_every_source_has_never_run(settings: Settings) -> None:
    report = sources_health(settings, load_sources(settings.sources))
    assert [(h.source, h.state, h.streak) for h in report] == [
        ("nuevo", "never", 0), ("roto", "never", 0), ("sano", "never", 0)]


def test_times_are_shown_in_lima() -> None:
    assert lima_time("2026-10-02T14:05:09+00:00") == "2026-10-02 09:05"
    assert lima_time(None) == "-"
    assert [duration_text(s) for s in (None, 4.6, 185, 3725)] == ["-", "5s", "3m05s", "1h02m"]


# -- the web UI and API ------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_api_sources_and_the_fuentes_page(settings: Settings, client: TestClient) -> None:
    assert UI["sources_banner_one"].split("{")[0] not in client.get("/").text  # no store yet
    with Store(settings.store_path) as store:
        record(store, "roto", DEAD, DEAD, DEAD)
        record(store, "sano", GOOD)
    data = {h["source"]: h for h in client.get("/api/sources").json()}
    assert set(data) == {"roto", "sano", "nuevo"}
    assert data["roto"]["flagged"] and data["roto"]["streak"] == 3
    assert data["roto"]["last_run"]["last_error"] == "ConnectionRefusedError"
    assert data["roto"]["last_success"] is None
    assert not data["sano"]["flagged"] and data["sano"]["last_run"]["new"] == 3
    assert data["nuevo"]["state"] == "never" and data["nuevo"]["last_run"] is None

    page = client.get("/fuentes")
    assert page.status_code == 200
    assert 'class="source state-failed flagged" id="fuente-roto"' in page.text
    assert 'class="source state-ok" id="fuente-sano"' in page.text
    assert UI["sources_flagged"].format(streak=3) in page.text
    assert UI["state_never"] in page.text

    search = client.get("/")
    assert UI["sources_banner_one"].format(threshold=3, names="Diario Roto") in search.text
    assert 'href="/fuentes"' in search.text


def test_banner_counts_every_flagged_source(settings: Settings, client: TestClient) -> None:
    with Store(settings.store_path) as store:
        record(store, "roto", DEAD, DEAD, DEAD)
        record(store, "nuevo", NOTHING_ARRIVED, NOTHING_ARRIVED, NOTHING_ARRIVED)
    text = client.get("/", params={"q": "fiscal"}).text
    names = "Diario Nuevo, Diario Roto"  # by name, sorted like the sources
    assert UI["sources_banner"].format(count=2, threshold=3, names=names) in text


# -- a real crawl of a dead source: the log warning and the CLI ----------------------------


def parse_table(stdout: str) -> dict[str, dict[str, str]]:
    """Rows of `sources status` by source, cut at the header's column starts."""
    header, *lines = stdout.splitlines()
    names = ["source", "kind", "start", "duration", "fetched", "new", "seen", "dup", "fail",
             "streak", "error"]
    starts = [0, *(header.index(h) for h in ("kind", "last start", "duration", "fetched",
                                                "new", "seen", "dup", "fail", "streak",
                                                "last error"))]
    rows = {}
    for line in lines:
        if not line.startswith(("  ", "! ")) or "runs in a row:" in line:
            continue
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        row = dict(zip(names, cells, strict=True))
        row["flag"] = line[:1]
        rows[row["source"].removeprefix("! ").strip()] = row
    return rows


@pytest.mark.slow
def test_a_dead_source_is_flagged_in_the_log_and_the_cli(workspace: Workspace) -> None:
    status = workspace.cli("sources", "status")
    assert status.returncode == 1 and "[E604] no store at" in status.stderr

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    write_source({"id": "muerto", "name": "Diario Muerto", "urls": [
        f"http://127.0.0.1:{dead_port}/feed.xml"], **FEED}, workspace.sources_dir)
    workspace.env.update({"PESQUISA_CRAWL__FAILING_RUNS_ALERT": "2",
                          "PESQUISA_CRAWL__RETRIES": "0"})  # refused: no need to retry
    warning = "source muerto has failed 2 crawl runs in a row"

    first = workspace.cli("crawl", "muerto")
    assert first.returncode == 3 and warning not in first.stderr
    second = workspace.cli("crawl", "muerto")
    assert second.returncode == 3
    assert second.stderr.count(warning) == 1, second.stderr
    assert "last error: ConnectionRefusedError" in second.stderr or "refused" in second.stderr
    log_file = (workspace.data_dir / "logs" / "pesquisa.log").read_text()
    assert f"WARNING pesquisa.health: {warning}" in log_file

    table = workspace.cli("sources", "status", check=True).stdout
    rows = parse_table(table)
    muerto = rows["muerto"]
    assert muerto["flag"] == "!" and muerto["kind"] == "feed"
    assert (muerto["fetched"], muerto["new"], muerto["fail"], muerto["streak"]) == (
        "0", "0", "1", "2")
    assert "Connection" in muerto["error"] or "refused" in muerto["error"]
    assert muerto["start"][:4].isdigit() and muerto["duration"].endswith("s")
    assert rows["demo-rpp"]["start"] == "-" and rows["demo-rpp"]["flag"] == " "
    assert table.splitlines()[-1] == "! 1 failing 2+ runs in a row: muerto"

    data = json.loads(workspace.cli("sources", "status", "--json", check=True).stdout)
    by_id = {h["source"]: h for h in data}
    assert len(data) == len(rows)
    assert by_id["muerto"]["flagged"] and by_id["muerto"]["streak"] == 2
    assert by_id["muerto"]["threshold"] == 2
    assert by_id["muerto"]["last_run"]["start_failures"] == 1
    assert by_id["demo-rpp"]["last_run"] is None
