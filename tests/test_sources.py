"""Sources are data: YAML files validated into Source objects, with clear errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from apscheduler.triggers.cron import CronTrigger
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawlers.runner import SPIDERS
from crawlers.spiders.base import START
from crawlers.spiders.listing import ListingSpider
from pesquisa.errors import FixInput
from pesquisa.lima import LIMA
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


# -- the shipped configuration: enough sources, all on, on a schedule the issue asks for --------

NEWS_KINDS = {"feed", "sitemap"}
OFFICIAL_KINDS = {"listing", "api", "bulletin"}
OFFICIAL_PLACES = {  # what the official sources must cover: URL fragment -> who publishes there
    "www.gob.pe/institucion/mpfn/": "Ministerio Público",
    "www.gob.pe/institucion/pj/": "Poder Judicial",
    "www.gob.pe/institucion/contraloria/": "Contraloría",
    "www.gob.pe/institucion/jnj/": "Junta Nacional de Justicia",
    "sedetc.gob.pe/": "Tribunal Constitucional",
    "busquedas.elperuano.pe/": "El Peruano (Normas Legales)",
}
WEEK_START = datetime(2026, 3, 16, tzinfo=LIMA)  # a Monday


def fire_times(schedule: str, days: int = 8) -> list[datetime]:
    """Every time the cron schedule fires (Lima time) in `days` days from WEEK_START."""
    trigger = CronTrigger.from_crontab(schedule, timezone=LIMA)
    end = WEEK_START + timedelta(days=days)
    fires: list[datetime] = []
    fire = trigger.get_next_fire_time(None, WEEK_START)
    while fire is not None and fire < end:
        fires.append(fire)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return fires


def gaps(fires: list[datetime]) -> list[timedelta]:
    return [later - earlier for earlier, later in pairwise(fires)]


def test_fire_times_are_counted_right() -> None:
    every_20 = fire_times("*/20 * * * *", days=1)
    assert len(every_20) == 72 and set(gaps(every_20)) == {timedelta(minutes=20)}
    assert len(fire_times("40 6-22/2 * * *", days=1)) == 9
    assert len(fire_times("0 7 * * 1-5", days=7)) == 5  # weekdays only: no run at the weekend


def test_shipped_config_covers_news_and_official_sources_on_schedule() -> None:
    sources = load_sources(Path(__file__).parent.parent / "config" / "sources")
    assert [s.id for s in sources if not s.enabled] == []
    news = [s for s in sources if s.kind in NEWS_KINDS]
    official = [s for s in sources if s.kind in OFFICIAL_KINDS]
    assert len(news) >= 15, [s.id for s in news]
    assert len(official) >= 6, [s.id for s in official]
    covered = {who for s in official for url in s.urls
               for place, who in OFFICIAL_PLACES.items() if place in url}
    assert covered == set(OFFICIAL_PLACES.values())
    for source in news:  # every 15 to 30 minutes, around the clock
        between = gaps(fire_times(source.schedule))
        assert max(between) <= timedelta(minutes=30), f"{source.id} waits too long"
        assert min(between) >= timedelta(minutes=15), f"{source.id} runs too often"
    for source in official:  # at most hourly, at least once every day of the week
        fires = fire_times(source.schedule)
        assert min(gaps(fires), default=timedelta(days=1)) >= timedelta(hours=1), source.id
        days = {fire.date() for fire in fires}
        week = {(WEEK_START + timedelta(days=n)).date() for n in range(7)}
        assert week <= days, f"{source.id} skips a day"


def test_an_empty_first_page_is_a_failure_unless_the_source_may_be_empty(tmp_path: Path) -> None:
    """El Peruano's extraordinary edition: a day without one is an empty search page, which
    must not count as a failure (three in a row would flag the source as broken)."""
    shipped = Path(__file__).parent.parent / "config" / "sources" / "elperuano-extraordinaria.yml"
    fields = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    assert fields["may_be_empty"] is True
    empty = (b"<html><body><main><h1>Normas Legales</h1><p>No se encontraron resultados.</p>"
             b"</main></body></html>")
    url = "https://busquedas.elperuano.pe/?tipoPublicacion=EX&start=0"
    for may_be_empty, failures in ((True, 0), (False, 1)):
        text = yaml.safe_dump({**fields, "urls": [url], "may_be_empty": may_be_empty})
        source = load_source_file(write(tmp_path, f"ex-{may_be_empty}.yml", text))
        crawler = get_crawler(ListingSpider)
        spider = ListingSpider.from_crawler(crawler, source=source,
                                            store_path=str(tmp_path / "store.db"))
        crawler.spider = spider
        try:
            request = Request(url, meta={START: url})
            response = HtmlResponse(url, body=empty, request=request)
            assert list(spider.parse_listing(response, page=0, base=url)) == []
            assert crawler.stats.get_value("pesquisa/failures", 0) == failures
            assert spider.start_failures() == failures
        finally:
            spider.closed("finished")
