"""A crawl of a server that injects faults finishes, stores every good page once, records every
bad one with its reason, backs off as asked, and re-crawls with conditional GET."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pesquisa.sources import write_source
from pesquisa.store import Store
from tests.conftest import Workspace
from tests.faultserver import BAD, CLEAN, GOOD, PDFS, RECOVERING, FaultServer
from tests.pdfs import scanned_pdf, text_pdf

pytestmark = pytest.mark.slow

PDF_TEXT = (
    "RESOLUCIÓN DE LA FISCALÍA DE LA NACIÓN\n"
    "Se designa al fiscal provincial titular de la Fiscalía Provincial Corporativa "
    "Especializada en Delitos de Corrupción de Funcionarios de Lima, en atención a la "
    "necesidad del servicio y a las investigaciones por colusión agravada, peculado doloso y "
    "lavado de activos que se tramitan en el distrito fiscal, conforme al Reglamento de "
    "Organización y Funciones del Ministerio Público vigente."
)
SCAN_TEXT = (
    "CONTRALORIA GENERAL DE LA REPUBLICA\n"
    "Informe de control sobre la ejecucion de la obra de saneamiento en el distrito de "
    "Chiclayo. La comision auditora identifico pagos por trabajos no ejecutados y "
    "responsabilidad penal de los funcionarios de la entidad, por lo que el informe "
    "se remite a la Procuraduria Publica Especializada en Delitos de Corrupcion."
)
# Small timeouts and waits: the whole test takes seconds, the faults still bite. The timeout
# leaves room for the reactor stalls of a real crawl (extraction, language models loading).
FAULT_CRAWL = {
    "PESQUISA_CRAWL__TIMEOUT": "1.5",
    "PESQUISA_CRAWL__RETRIES": "2",
    "PESQUISA_CRAWL__RETRY_BACKOFF": "0.1",
    "PESQUISA_CRAWL__RETRY_BACKOFF_MAX": "2",
    "PESQUISA_CRAWL__MAX_PAGE_BYTES": "100000",
    "PESQUISA_CRAWL__CONCURRENT_PER_HOST": "2",
}
SOURCES = {"fallas": "/feed.xml", "limpio": "/limpio.xml", "documentos": "/documentos.xml"}


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    server = FaultServer(text_pdf(PDF_TEXT, title="Resolución de la Fiscalía"),
                         scanned_pdf(SCAN_TEXT))
    with server:
        yield server


def documents(ws: Workspace) -> list[dict[str, Any]]:
    db = sqlite3.connect(ws.data_dir / "pesquisa.db")
    db.row_factory = sqlite3.Row
    return [dict(row) for row in db.execute("SELECT url, title, text, content_type FROM documents")]


def runs(ws: Workspace, source: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(ws.data_dir / "pesquisa.db")
    db.row_factory = sqlite3.Row
    query = "SELECT * FROM crawl_runs WHERE source = ? ORDER BY id"
    return [dict(row) for row in db.execute(query, (source,))]


def gaps(times: list[float]) -> list[float]:
    return [round(later - earlier, 3) for earlier, later in itertools.pairwise(times)]


def test_crawl_of_a_faulty_server(workspace: Workspace, faults: FaultServer) -> None:
    workspace.env.update(FAULT_CRAWL)
    base = faults.base_url
    for ident, feed in SOURCES.items():
        write_source({"id": ident, "name": ident, "kind": "feed", "urls": [base + feed],
                      "schedule": "*/30 * * * *"}, workspace.sources_dir)

    started = time.monotonic()
    # All at once: PDF text and OCR run in a thread, so they do not stall the 1.5 s timeouts.
    first = workspace.cli("crawl", *SOURCES, timeout=120)
    first_seconds = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr

    # every good page, the recovered ones, latin-1 and both PDFs: stored exactly once
    stored = documents(workspace)
    good = [*GOOD, *RECOVERING, "/latin1", *CLEAN, *PDFS]
    assert sorted(doc["url"] for doc in stored) == sorted(base + path for path in good)
    by_url = {doc["url"]: doc for doc in stored}
    latin1 = by_url[base + "/latin1"]
    assert latin1["title"] == "Corrupción en la región"
    assert "La corrupción en la región" in latin1["text"]
    text_doc = by_url[base + "/doc-texto.pdf"]
    assert text_doc["content_type"] == "application/pdf"
    assert "Corrupción de Funcionarios de Lima" in " ".join(text_doc["text"].split())
    scanned = by_url[base + "/doc-escaneado.pdf"]["text"].lower()
    assert "contraloria" in scanned.replace("í", "i") and "chiclayo" in scanned

    # every bad page: one failure with a reason a journalist can read
    (run,) = runs(workspace, "fallas")
    with Store(workspace.data_dir / "pesquisa.db") as store:
        failures = store.failures(run["id"])
    for link, (reason, failed_url) in BAD.items():
        wanted = failed_url if "://" in failed_url else base + failed_url
        found = [f["reason"] for f in failures if f["url"] == wanted]
        assert len(found) == 1, (link, failures)
        assert found[0].lower().startswith(reason), (link, found[0])
    assert len(failures) == len(BAD), failures
    assert run["failures"] == len(BAD) and run["start_failures"] == 0

    # backoff: 0.1 s then 0.2 s after the 500s; Retry-After: 1 honoured after each 429
    errors, limited = gaps(faults.times("/error-500")), gaps(faults.times("/limite-429"))
    assert len(errors) == 2 and errors[0] >= 0.1 and errors[1] >= 0.2, errors
    assert len(limited) == 2 and min(limited) >= 1.0, limited
    assert len(faults.times("/lento")) == 3  # timed out, retried twice
    # the User-Agent names Pesquisa and where to reach us, on every request
    agents = {hit.user_agent for hit in faults.hits}
    assert agents == {"Pesquisa/0.1 (+https://github.com/pesquisa-pe/pesquisa)"}

    # A second crawl adds nothing. The clean feeds are unchanged (304); the faulty one is
    # fetched again in full, because some of its items were never stored.
    workspace.env["PESQUISA_CRAWL__RETRIES"] = "0"  # the bad pages fail fast this time
    before = len(faults.hits)
    started = time.monotonic()
    second = workspace.cli("crawl", *SOURCES, timeout=120)
    second_seconds = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    assert len(documents(workspace)) == len(good)
    for ident in ("limpio", "documentos"):
        again = runs(workspace, ident)[-1]
        assert (again["new"], again["not_modified"], again["failures"]) == (0, 1, 0), again
        assert again["start_failures"] == 0
    faulty = runs(workspace, "fallas")[-1]
    assert faulty["new"] == 0 and faulty["not_modified"] == 0
    assert faulty["failures"] == len(BAD)
    later = {hit.path: hit.if_none_match for hit in faults.hits[before:]}
    assert later["/limpio.xml"] == '"limpio.xml-2"' and later["/documentos.xml"]
    assert "/limpia/1" not in later and "/doc-escaneado.pdf" not in later
    assert "/nota/1" not in later  # known articles are not fetched again
    print(f"\ncrawls: faults {first_seconds:.2f}s, re-crawl {second_seconds:.2f}s; "
          f"500 retry gaps {errors}s, 429 retry gaps {limited}s")
