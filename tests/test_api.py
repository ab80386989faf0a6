"""The API and web UI, driven in-process over a temporary data dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.backends.sqlite import SqliteIndex
from indexer.base import IndexDocument
from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import Settings, load_settings
from pesquisa.store import Mention, NewDocument, Store
from pesquisa.web.app import create_app
from pesquisa.web.strings import UI

URL = "https://larepublica.pe/politica/2026/10/02/colusion-en-provias-123"
TEXT = ("La Fiscalía contra la corrupción investiga a Provías Nacional por colusión. "
        "El congresista <b>Óscar Villanueva</b> negó los cargos.")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = load_settings(overrides={"data_dir": tmp_path / "data"}, environ={})
    doc_id = document_id(URL)
    with Store(settings.store_path) as store:
        store.save_document(NewDocument(
            url=URL, canonical_url=canonical_url(URL), id=doc_id, source="larepublica",
            title="Colusión en Provías: Fiscalía abre investigación", text=TEXT,
            published="2026-10-02T09:00:00-05:00", language="es"))
        start = TEXT.index("Óscar Villanueva")
        store.save_annotations(store.get(doc_id), [Mention(
            "per:oscar-villanueva", "Óscar Villanueva", "PER", "person", start,
            start + len("Óscar Villanueva"), "Óscar Villanueva", "El congresista ...")])
    index = SqliteIndex(settings.index_path)
    index.upsert([IndexDocument(doc_id, URL, "larepublica",
                                "Colusión en Provías: Fiscalía abre investigación", TEXT,
                                "2026-10-02T09:00:00-05:00")])
    index.close()
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_search_json(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "corrupcion AND provias"})
    assert response.status_code == 200
    data = response.json()
    assert data["total"] == 1
    (hit,) = data["hits"]
    assert hit["id"] == document_id(URL) and hit["url"] == URL
    assert set(hit) == {"id", "url", "title", "published", "source", "snippet", "duplicates"}
    assert hit["duplicates"] == 0
    assert "<mark>" in hit["snippet"]
    assert "<b>" not in hit["snippet"]  # page text is escaped; only our <mark> is HTML


def test_malformed_query_is_400_with_a_code(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "a AND ("})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "E501" and "position" in error["message"]


def test_document_and_404(client: TestClient) -> None:
    doc = client.get(f"/api/documents/{document_id(URL)}").json()
    assert doc["source"] == "larepublica" and doc["text"] == TEXT
    assert doc["entities"][0]["name"] == "Óscar Villanueva"
    missing = client.get("/api/documents/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "E603"


def test_health(client: TestClient) -> None:
    assert client.get("/api/health").json()["documents"] == 1


def test_search_page_in_spanish(client: TestClient) -> None:
    page = client.get("/", params={"q": "colusión"})
    assert page.status_code == 200
    assert '<html lang="es">' in page.text
    assert UI["results_one"] in page.text and UI["original"] in page.text
    assert f"/documento/{document_id(URL)}" in page.text
    empty = client.get("/", params={"q": "inexistentepalabra"})
    assert UI["no_results"] in empty.text


def test_document_page_and_errors_render_html(client: TestClient) -> None:
    page = client.get(f"/documento/{document_id(URL)}")
    assert page.status_code == 200
    assert "Óscar Villanueva" in page.text and "&lt;b&gt;" in page.text
    bad = client.get("/", params={"q": '"sin cerrar'})
    assert bad.status_code == 400 and UI["error_query"] in bad.text
    assert "Traceback" not in bad.text


def test_internal_errors_do_not_leak(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/api/boom")
    assert response.status_code == 500
    assert "secret" not in response.text and response.json()["error"]["code"] == "E999"


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/api/search", {}, 400, "E703"),
        ("/api/search", {"q": ""}, 400, "E703"),
        ("/api/search", {"q": "lima", "limit": "mil"}, 400, "E703"),
        ("/api/search", {"q": "a\x00b"}, 400, "E501"),
        ("/api/search", {"q": "lima && callao"}, 400, "E502"),
        ("/api/nada", {}, 404, "E704"),
    ],
)
def test_api_errors_share_one_shape(client: TestClient, path: str, params: dict[str, str],
                                    status: int, code: str) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "params", [{"q": "lima", "page": "abc"}, {"q": "lima", "page": "99999999999999999999"},
               {"q": "lima", "sort": "x"}],
)
def test_page_errors_render_spanish_html(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert UI["error_query"] in response.text


def test_only_http_links_are_rendered(settings: Settings) -> None:
    hostile = "javascript://x/%0aalert(1)"
    index = SqliteIndex(settings.index_path)
    index.upsert([IndexDocument("evil", hostile, "x", "Nota hostil sobre Lima", "Lima", None)])
    index.close()
    with TestClient(create_app(settings)) as test_client:
        page = test_client.get("/", params={"q": "hostil"}).text
    assert "javascript:" not in page and 'href="#"' in page
