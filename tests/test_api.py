"""The API and web UI, driven in-process over a temporary data dir."""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from indexer.backends.sqlite import SqliteIndex
from indexer.base import IndexDocument
from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import Settings, load_settings
from pesquisa.store import Mention, NewDocument, Store
from pesquisa.web.app import create_app, refine, with_entity
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
            start + len("Óscar Villanueva"), "Óscar Villanueva", "El congresista ...")],
            [{"code": "colusion", "article": "384", "start": TEXT.index("colusión")}])
        indexed = store.index_documents([store.get(doc_id)])  # as the worker indexes it
    index = SqliteIndex(settings.index_path)
    index.upsert(indexed)
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


def test_search_facets_and_entity_filter(client: TestClient) -> None:
    plain = client.get("/api/search", params={"q": "provias"}).json()
    assert "facets" not in plain
    data = client.get("/api/search", params={"q": "provias", "facets": "true",
                                             "interval": "day", "facet_size": 5}).json()
    facets = data["facets"]
    assert facets["source"] == [{"value": "larepublica", "count": 1}]
    assert facets["entities"]["person"] == [
        {"value": "per:oscar-villanueva", "count": 1, "label": "Óscar Villanueva"}]
    assert facets["crime"] == [{"value": "colusion", "count": 1}]
    assert facets["published"] == {"interval": "day",
                                   "buckets": [{"value": "2026-10-02", "count": 1}]}
    # an entity id narrows a query, or is the whole query when q is empty
    by_entity = client.get("/api/search", params={"q": "provias",
                                                  "entity": "per:oscar-villanueva"}).json()
    assert [h["id"] for h in by_entity["hits"]] == [document_id(URL)]
    only = client.get("/api/search", params={"entity": "per:oscar-villanueva"}).json()
    assert only["total"] == 1
    for params in ({"q": "huaico", "entity": "per:oscar-villanueva"},
                   {"entity": "per:nadie"}):
        assert client.get("/api/search", params=params).json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "code", "needle"),
    [
        ({"entity": 'per:x" OR *'}, "E703", "entity"),
        ({"entity": ""}, "E703", "entity"),
        ({"q": "a AND (", "entity": "per:oscar-villanueva"}, "E501", "position"),
        ({"q": "lima", "facets": "quizas"}, "E703", "facets"),
        ({"q": "lima", "interval": "year"}, "E703", "interval"),
        ({"q": "lima", "facet_size": "0"}, "E703", "facet_size"),
        ({"q": "lima", "offset": "9950", "limit": "100"}, "E703", "offset"),
        ({"q": "kind:alcalde"}, "E502", "kind"),
    ],
)
def test_bad_search_parameters_are_400(client: TestClient, params: dict[str, str], code: str,
                                       needle: str) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and needle in error["message"]


def test_an_unreachable_elasticsearch_is_503(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(overrides={"data_dir": tmp_path / "data"}, environ={
        "PESQUISA_INDEX_BACKEND": "elasticsearch", "PESQUISA_INDEX_URL": f"http://127.0.0.1:{port}"})
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        for path in ("/api/search?q=lima", "/api/health"):
            response = test_client.get(path)
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "E504"
        assert test_client.get("/api/search?q=a AND (").status_code == 400  # input first
        page = test_client.get("/", params={"q": "lima"})
        assert page.status_code == 503 and UI["error_unavailable"] in page.text
        assert "Traceback" not in page.text


def test_search_page_shows_facets_as_links(client: TestClient) -> None:
    page = client.get("/", params={"q": "colusión"}).text
    assert UI["facets_title"] in page and UI["facet_source"] in page
    assert UI["facet_kind_person"] in page and UI["facet_crime"] in page
    links = set(re.findall(r'href="/\?q=([^"&]*)&(?:amp;)?sort=relevance"', page))
    added = {unquote_plus(html.unescape(link)) for link in links}
    assert {'colusión AND source:"larepublica"', 'colusión AND entity:"per:oscar-villanueva"',
            "colusión AND crime:colusion", "colusión AND published:2026-10"} <= added
    assert "Óscar Villanueva" in page and "2026-10" in page
    # following a facet link narrows the search and keeps the hit
    narrowed = client.get("/", params={"q": 'colusión AND entity:"per:oscar-villanueva"'})
    assert narrowed.status_code == 200 and UI["results_one"] in narrowed.text


def test_refine_keeps_the_query_meaning() -> None:
    assert refine("", "source:rpp") == "source:rpp"
    assert refine("*", "source:rpp") == "source:rpp"
    assert refine("lima", "source:rpp") == "lima AND source:rpp"
    assert refine("lima OR callao", "source:rpp") == "(lima OR callao) AND source:rpp"
    assert refine("lima AND source:rpp", "source:rpp") == "lima AND source:rpp"
    assert with_entity("", "per:x") == 'entity:"per:x"'
    assert with_entity("a OR b", "per:x") == '(a OR b) AND entity:"per:x"'


def test_a_facet_link_narrows_even_when_the_query_names_the_value() -> None:
    """`lima OR crime:extorsion` holds documents without that crime: its facet link must add
    the filter, not give the same query back."""
    assert refine("lima OR crime:extorsion", "crime:extorsion") == (
        "(lima OR crime:extorsion) AND crime:extorsion")
    assert refine("NOT crime:extorsion_agravada", "crime:extorsion") == (
        "NOT crime:extorsion_agravada AND crime:extorsion")
    assert refine('lima AND source:"rpp"', 'source:"rpp"') == 'lima AND source:"rpp"'
    assert refine("crime:extorsion", "crime:extorsion") == "crime:extorsion"


def test_facet_values_are_escaped_in_the_page(tmp_path: Path) -> None:
    """An entity's name is text from a crawled page: in a facet it is text, never markup, and
    the link it makes stays one URL."""
    settings = load_settings(overrides={"data_dir": tmp_path / "data"}, environ={})
    hostile = '<img src=x onerror=alert(1)> "Los" & \'Pulpos\''
    url = "https://rpp.pe/hostil"
    text = f"La banda {hostile} cobra cupos."
    with Store(settings.store_path) as store:
        store.save_document(NewDocument(url=url, canonical_url=canonical_url(url),
                                        id=document_id(url), source="rpp", title="Cupos",
                                        text=text, published="2026-10-02T09:00:00-05:00"))
        start = text.index(hostile)
        store.save_annotations(store.get(document_id(url)), [Mention(
            "crime_group:los-pulpos", hostile, "ORG", "crime_group", start,
            start + len(hostile), hostile, text)])
        indexed = store.index_documents([store.get(document_id(url))])
    index = SqliteIndex(settings.index_path)
    index.upsert(indexed)
    index.close()
    with TestClient(create_app(settings)) as client:
        page = client.get("/", params={"q": "cupos"}).text
    facets = page[page.index('id="facets"'):]
    assert "<img" not in facets and str(escape(hostile)) in facets
    links = re.findall(r'<a href="([^"]*)"', facets)
    assert links and all(link.startswith("/?q=") and " " not in link for link in links)
    assert 'entity%3A%22crime_group%3Alos-pulpos%22' in facets
