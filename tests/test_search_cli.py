"""`pesquisa search`: the JSON shape, facets in text and JSON, and one-line errors with their
exit codes, over a small annotated corpus indexed by the real worker."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import spacy

from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import load_settings
from pesquisa.store import Mention, NewDocument, Store
from pesquisa.worker import Worker
from tests.conftest import REPO

pytestmark = pytest.mark.slow

# url, source, title, text, published, entities (id, name, kind, as written), crime types
CORPUS: list[tuple[str, str, str, str, str, list[tuple[str, str, str, str]], list[str]]] = [
    ("https://rpp.pe/1", "rpp", "Extorsión en Trujillo",
     "La banda Los Pulpos cobra cupos a transportistas en Trujillo.", "2026-09-01T08:00:00-05:00",
     [("crime_group:los-pulpos", "Los Pulpos", "crime_group", "Los Pulpos"),
      ("place:trujillo", "Trujillo", "place", "Trujillo")], ["extorsion"]),
    ("https://rpp.pe/2", "rpp", "Colusión en Provías",
     "La Fiscalía investiga colusión; la presidenta Boluarte no respondió.",
     "2026-09-15T10:00:00-05:00",
     [("official:dina-boluarte", "Dina Boluarte", "official", "Boluarte")], ["colusion"]),
    ("https://elcomercio.pe/3", "elcomercio", "Lavado de activos en Arequipa",
     "Allanan inmuebles en Arequipa por lavado de activos de la minería ilegal.",
     "2026-10-02T09:00:00-05:00", [("place:arequipa", "Arequipa", "place", "Arequipa")],
     ["lavado_activos"]),
    ("https://elcomercio.pe/4", "elcomercio", "Extorsión a colegios",
     "Los Pulpos también extorsionan a colegios, según la PNP; Dina Boluarte pidió orden.",
     "2026-10-20T09:00:00-05:00",
     [("crime_group:los-pulpos", "Los Pulpos", "crime_group", "Los Pulpos"),
      ("official:dina-boluarte", "Dina Boluarte", "official", "Dina Boluarte")],
     ["extorsion"]),
    ("https://larepublica.pe/5", "larepublica", "Congreso debate ley de presupuesto",
     "El pleno debatió el presupuesto sin votación.", "2026-11-03T18:00:00-05:00", [], []),
]


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PESQUISA_")}
    environ |= {"PESQUISA_DATA_DIR": str(data_dir), **env}
    return subprocess.run([sys.executable, "-m", "pesquisa", "search", *args], env=environ,
                          cwd=REPO, text=True, capture_output=True, timeout=120)


def ok(data_dir: Path, *args: str) -> Any:
    result = run(data_dir, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def one_line(result: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    """One line on stderr, coded ([E...]) unless click itself refused a flag's value."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pesquisa: error: "), result.stderr
    assert needle in lines[0] and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus stored with its annotations, then indexed by the worker (no NLP runs: every
    document is already annotated)."""
    root = tmp_path_factory.mktemp("search")
    settings = load_settings(overrides={"data_dir": root}, environ={})
    with Store(settings.store_path) as store:
        for url, source, title, text, published, entities, crimes in CORPUS:
            doc_id = document_id(url)
            store.save_document(NewDocument(url=url, canonical_url=canonical_url(url),
                                            id=doc_id, source=source, title=title, text=text,
                                            published=published, language="es"))
            mentions = [Mention(eid, name, "PER", kind, text.index(said),
                                text.index(said) + len(said), said, text)
                        for eid, name, kind, said in entities]
            found = [{"code": code, "article": None, "start": 0, "end": 1} for code in crimes]
            store.save_annotations(store.get(doc_id), mentions, found)
    worker = Worker(settings, nlp=spacy.blank("es"))
    try:
        assert worker.run_once().indexed == len(CORPUS)
    finally:
        worker.close()
    return root


def monday(day: str) -> str:
    parsed = date.fromisoformat(day)
    return date.fromordinal(parsed.toordinal() - parsed.weekday()).isoformat()


def test_json_shape(data_dir: Path) -> None:
    plain = ok(data_dir, "extorsión")
    assert set(plain) == {"total", "hits"}  # facets only when asked
    assert plain["total"] == 2 == len(plain["hits"])
    assert {h["url"] for h in plain["hits"]} == {"https://rpp.pe/1", "https://elcomercio.pe/4"}
    for hit in plain["hits"]:
        assert set(hit) == {"id", "url", "title", "published", "source", "snippet",
                            "duplicates"}
    paged = ok(data_dir, "*", "--sort", "date", "--limit", "2", "--offset", "1")
    assert paged["total"] == len(CORPUS)
    newest_first = sorted(CORPUS, key=lambda row: row[4], reverse=True)
    assert [h["url"] for h in paged["hits"]] == [row[0] for row in newest_first[1:3]]


def test_facets_in_json(data_dir: Path) -> None:
    data = ok(data_dir, "*", "--facets")
    facets = data["facets"]
    assert set(facets) == {"source", "entities", "crime", "published"}
    sources = Counter(row[1] for row in CORPUS)
    assert facets["source"] == [{"value": v, "count": c} for v, c in
                                sorted(sources.items(), key=lambda p: (-p[1], p[0]))]
    crimes = Counter(code for row in CORPUS for code in row[6])
    assert {b["value"]: b["count"] for b in facets["crime"]} == crimes
    officials = facets["entities"]["official"]
    assert officials == [{"value": "official:dina-boluarte", "count": 2,
                          "label": "Dina Boluarte"}]
    months = Counter(row[4][:7] + "-01" for row in CORPUS)
    assert facets["published"]["interval"] == "month"
    assert {b["value"]: b["count"] for b in facets["published"]["buckets"]} == months

    weekly = ok(data_dir, "*", "--facets", "--interval", "week", "--facet-size", "1")
    buckets = weekly["facets"]["published"]["buckets"]
    assert weekly["facets"]["published"]["interval"] == "week"
    assert all(date.fromisoformat(b["value"]).weekday() == 0 for b in buckets)  # Mondays
    assert sum(b["count"] for b in buckets) == len(CORPUS)
    assert buckets[0]["value"] == monday(min(row[4][:10] for row in CORPUS))
    assert len(weekly["facets"]["source"]) == 1  # --facet-size


def test_entity_and_filter_queries(data_dir: Path) -> None:
    boluarte = {row[0] for row in CORPUS if any(e[0] == "official:dina-boluarte" for e in row[5])}
    # the id or the canonical name find every document naming her, however it is written
    for query in ('entity:"official:dina-boluarte"', 'entity:"dina boluarte"'):
        assert {h["url"] for h in ok(data_dir, query)["hits"]} == boluarte, query
    # a name she appears under finds the documents that write it so
    said = {row[0] for row in CORPUS if any(e[3] == "Boluarte" for e in row[5])}
    assert {h["url"] for h in ok(data_dir, "entity:Boluarte")["hits"]} == said < boluarte
    assert ok(data_dir, "kind:crime_group AND crime:extorsion")["total"] == 2
    assert ok(data_dir, "published:[2026-10-01 TO 2026-10-31] AND source:elcomercio")[
        "total"] == 2


def test_facets_as_text(data_dir: Path) -> None:
    result = run(data_dir, "extorsión", "--facets")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("2 results")
    lines = {line.split(":")[0].strip(): line for line in out.splitlines() if ": " in line}
    assert "rpp (1)" in lines["source"] and "elcomercio (1)" in lines["source"]
    assert "Los Pulpos [crime_group:los-pulpos] (2)" in lines["entity crime_group"]
    assert "extorsion (2)" in lines["crime"]
    assert "2026-09-01 (1)" in lines["published by month"]
    assert "facets" not in run(data_dir, "extorsión").stdout


def test_errors_are_one_line_with_exit_codes(data_dir: Path, tmp_path: Path) -> None:
    one_line(run(data_dir, "a AND ("), 2, "E501")
    one_line(run(data_dir, "lima && callao"), 2, "E502")
    one_line(run(data_dir, "kind:alcalde"), 2, "E502")
    one_line(run(data_dir, "lima", "--offset", "9995", "--limit", "10"), 2, "E703")
    one_line(run(data_dir, "lima", "--interval", "year"), 2, "year")
    empty = tmp_path / "empty"
    one_line(run(empty, "lima"), 1, "E505")  # nothing indexed there yet
    one_line(run(empty, "a AND ("), 2, "E501")  # the query is reported first
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = {"PESQUISA_INDEX_BACKEND": "elasticsearch",
            "PESQUISA_INDEX_URL": f"http://127.0.0.1:{port}"}
    one_line(run(data_dir, "lima", **down), 3, "E504")
    one_line(run(data_dir, '"sin cerrar', **down), 2, "E501")
    one_line(run(data_dir, "-Lima", **down), 3, "E504")  # -Lima is a query here


def test_credentials_never_reach_an_error_line_or_the_log(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "S3cretPW"
    for env in ({"PESQUISA_INDEX_URL": f"http://elastic:{secret}@127.0.0.1:{port}"},
                {"PESQUISA_INDEX_URL": f"http://127.0.0.1:{port}",
                 "PESQUISA_ELASTICSEARCH__USERNAME": "elastic",
                 "PESQUISA_ELASTICSEARCH__PASSWORD": secret,
                 "PESQUISA_ELASTICSEARCH__API_KEY": secret + "Key"}):
        result = run(tmp_path, "lima", PESQUISA_INDEX_BACKEND="elasticsearch", **env)
        one_line(result, 3, "E504")
        assert f"127.0.0.1:{port}" in result.stderr and secret not in result.stderr
    log = (tmp_path / "logs" / "pesquisa.log").read_text(encoding="utf-8")
    assert f"127.0.0.1:{port}" in log and secret not in log


def test_the_api_answers_with_the_json_of_the_cli(data_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from pesquisa.web.app import create_app

    settings = load_settings(overrides={"data_dir": data_dir}, environ={})
    with TestClient(create_app(settings)) as client:
        for query, interval in (("*", "month"), ("extorsión OR colusión", "week"),
                                ('entity:"official:dina-boluarte"', "day")):
            cli = ok(data_dir, query, "--facets", "--interval", interval, "--limit", "3",
                     "--facet-size", "2", "--sort", "date")
            api = client.get("/api/search", params={
                "q": query, "facets": "true", "interval": interval, "limit": 3,
                "facet_size": 2, "sort": "date"}).json()
            assert api == cli, query


class _Refusing(BaseHTTPRequestHandler):
    """Answers every request as a secured Elasticsearch 8 answers bad credentials (the test
    node has no security module, Elastic does not publish it to Maven Central)."""

    def _refuse(self) -> None:
        reason = f"unable to authenticate user [elastic] for REST request [{self.path}]"
        body = json.dumps({"error": {"root_cause": [{"type": "security_exception",
                                                     "reason": reason}],
                                     "type": "security_exception", "reason": reason},
                           "status": 401}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("WWW-Authenticate", 'Basic realm="security" charset="UTF-8"')
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_refused_credentials_are_one_line_without_the_secret(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for env in ({"PESQUISA_ELASTICSEARCH__USERNAME": "elastic",
                     "PESQUISA_ELASTICSEARCH__PASSWORD": "Wr0ngPass"},
                    {"PESQUISA_ELASTICSEARCH__API_KEY": "Wr0ngPassKey=="}):
            result = run(tmp_path, "lima", PESQUISA_INDEX_BACKEND="elasticsearch",
                         PESQUISA_INDEX_URL=url, **env)
            one_line(result, 2, "E507")
            assert "security_exception" in result.stderr and "Wr0ngPass" not in result.stderr
    finally:
        server.shutdown()
        server.server_close()
