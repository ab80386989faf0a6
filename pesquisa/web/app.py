"""The FastAPI app: /api/* returns JSON, the other routes render the Spanish UI."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexer import open_index
from indexer.base import DEFAULT_FACET_SIZE, MAX_FACET_SIZE, MAX_WINDOW, Facets, IndexBackend
from indexer.query import plan
from pesquisa import __version__
from pesquisa.archive import capture_date, read_archived
from pesquisa.errors import FixInput, NotFound, PesquisaError, RetryLater
from pesquisa.health import SourceHealth, duration_text, lima_time, sources_health
from pesquisa.settings import Settings
from pesquisa.sources import load_sources
from pesquisa.store import Document, Store
from pesquisa.web.strings import UI

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
PAGE_SIZE = 20
# An archived page is someone else's HTML: no script, no plugins, no requests of its own.
ARCHIVE_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"

ENTITY_ID = r"^[\w.:-]{1,200}$"  # what entity ids are made of (nlp/kb.py slugs, kinds, ":")
PAGE_FACETS = 8  # values per facet on the search page

Q = Annotated[str, Query(max_length=2000, description="Lucene-style query (may be empty "
                         "when `entity` is given)")]
Limit = Annotated[int, Query(ge=0, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_WINDOW)]
SortArg = Annotated[Literal["relevance", "date"], Query()]
IntervalArg = Annotated[Literal["day", "week", "month"], Query(
    description="Date histogram buckets (with facets)")]
FacetSize = Annotated[int, Query(ge=1, le=MAX_FACET_SIZE, description="Values per facet")]
EntityArg = Annotated[str | None, Query(pattern=ENTITY_ID, description="An entity id "
                                        "(official:dina-boluarte): only documents naming it")]
Page = Annotated[int, Query(ge=1, le=500)]


def safe_href(url: str) -> str:
    """Only http(s) URLs become links: a stored URL must never run script in our pages."""
    return url if urlsplit(url).scheme in ("http", "https") else "#"


def with_entity(q: str, entity: str | None) -> str:
    """The query to run: `q`, narrowed to the documents naming `entity` when one is given."""
    if entity is None:
        if not q.strip():
            raise FixInput("E703", name="q", reason="give a query (or an entity)")
        return q
    clause = f'entity:"{entity}"'
    if not q.strip():
        return clause
    plan(q)  # a problem is reported at its position in q, as the user wrote it
    return f"({q}) AND {clause}"


def refine(q: str, clause: str) -> str:
    """`q` with one more filter ANDed to it (the search page's facet links)."""
    q = q.strip()
    if not q or q == "*":
        return clause
    if re.search(r"\bOR\b|\|\|", q):
        return f"({q}) AND {clause}"
    if clause in (part.strip() for part in q.split(" AND ")):  # one of its filters already
        return q
    return f"{q} AND {clause}"


@lru_cache(maxsize=1)
def crime_names() -> dict[str, str]:
    """Crime-type codes to their names, from the shipped table (codes alone if unreadable)."""
    try:
        from nlp.components.crime_types import load_table

        return {row.code: row.name for row in load_table()}
    except PesquisaError as exc:
        log.warning("crime type names unavailable: %s", exc.message)
        return {}


def create_app(settings: Settings) -> FastAPI:
    state: dict[str, IndexBackend] = {}
    opening = threading.Lock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            state["index"] = open_index(settings)
        except PesquisaError as exc:  # Elasticsearch down, say: serve, and retry per request
            log.warning("index unavailable at start: %s", exc.message)
        try:
            yield
        finally:
            if "index" in state:
                state.pop("index").close()

    app = FastAPI(title="Pesquisa", version=__version__, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", lifespan=lifespan)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["ui"] = UI
    templates.env.filters["href"] = safe_href
    templates.env.filters["lima"] = lima_time
    templates.env.filters["duration"] = duration_text
    templates.env.globals["refine"] = refine
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    def index() -> IndexBackend:
        """The open index; opened again here if it could not be at start (E504 until then)."""
        if "index" not in state:
            with opening:
                if "index" not in state:
                    state["index"] = open_index(settings)
        return state["index"]

    def store() -> Store:
        if not settings.store_path.exists():
            raise RetryLater("E504", reason="no documents yet: run `pesquisa crawl` first")
        return Store(settings.store_path, read_only=True)

    def failing_sources() -> list[SourceHealth]:
        """Flagged sources, for the search page's banner; a broken sources folder or store
        must not take search down with it."""
        try:
            return [h for h in sources_health(settings, load_sources(settings.sources))
                    if h.flagged]
        except PesquisaError as exc:
            log.warning("source health unavailable: %s", exc.message)
            return []

    # -- errors: one handler for API and pages --------------------------------------------

    def _error(request: Request, status: int, code: str, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
        # a 400 elsewhere (a broken source file on /fuentes) is no bad search
        bad_search = UI["error_query"] if request.url.path == "/" else UI["error_title"]
        title = {400: bad_search, 404: UI["error_not_found"],
                 503: UI["error_unavailable"]}.get(status, UI["error_title"])
        return templates.TemplateResponse(
            request, "error.html", {"title": title, "message": message, "query": ""},
            status_code=status,
        )

    @app.exception_handler(PesquisaError)
    async def _pesquisa_error(request: Request, exc: PesquisaError) -> Response:
        return _error(request, exc.http_status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        problem = exc.errors()[0] if exc.errors() else {}
        name = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "request"
        error = FixInput("E703", name=name, reason=problem.get("msg", "invalid"))
        return _error(request, 400, error.code, error.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error: PesquisaError = (
            NotFound("E704", path=request.url.path) if exc.status_code == 404
            else PesquisaError("E705", reason=exc.detail)
        )
        return _error(request, exc.status_code, error.code, error.message)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", request.url.path)
        return _error(request, 500, "E999", UI["error_internal"])

    # -- API ------------------------------------------------------------------------------

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "documents": index().count()}

    @app.get("/api/search")
    def api_search(q: Q = "", limit: Limit = PAGE_SIZE, offset: Offset = 0,
                   sort: SortArg = "relevance", facets: bool = False,
                   interval: IntervalArg = "month", facet_size: FacetSize = DEFAULT_FACET_SIZE,
                   entity: EntityArg = None) -> dict[str, Any]:
        """Search: `{total, hits, facets}` (facets only when asked), the same shape as
        `pesquisa search --json`, from either backend."""
        query = with_entity(q, entity)
        plan(query)  # a malformed query is reported first, whatever the index's state
        if offset + limit > MAX_WINDOW:
            raise FixInput("E703", name="offset", reason=f"offset + limit pass {MAX_WINDOW}")
        return index().search(query, limit=limit, offset=offset, sort=sort, facets=facets,
                              interval=interval, facet_size=facet_size).to_json()

    @app.get("/api/sources")
    def api_sources() -> list[dict[str, Any]]:
        return [h.to_json() for h in sources_health(settings, load_sources(settings.sources))]

    @app.get("/api/documents/{doc_id}")
    def api_document(doc_id: str) -> dict[str, Any]:
        with store() as db:
            doc = db.get(doc_id)
            return {**doc.export(), "archive": archive_summary(doc),
                    "entities": db.document_entities(doc_id)}

    def archive_summary(doc: Document) -> dict[str, Any] | None:
        if doc.warc is None:
            return None
        return {"url": f"/api/documents/{doc.id}/archive", "digest": doc.warc.digest,
                "captured": capture_date(settings.data_dir, doc.warc)}

    @app.get("/api/documents/{doc_id}/archive")
    def api_archive(doc_id: str) -> Response:
        """The archived response body, with its own content type, made inert: a sandboxed
        unique origin runs no script and loads nothing (not even from the original site)."""
        with store() as db:
            doc = db.get(doc_id)
        copy = read_archived(settings.data_dir, doc)
        return Response(copy.body, headers={
            "Content-Type": copy.content_type,
            "Content-Security-Policy": ARCHIVE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{copy.filename(doc.id)}"',
            "Referrer-Policy": "no-referrer",
            "X-Pesquisa-Captured": copy.captured,
            "X-Pesquisa-Digest": copy.digest,
        })

    # -- pages ----------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def page_search(request: Request, q: Annotated[str, Query(max_length=2000)] = "",
                    page: Page = 1, sort: SortArg = "relevance") -> Response:
        if q.strip():
            plan(q)  # a malformed query is reported first, whatever the index's state
        context: dict[str, Any] = {"query": q, "sort": sort, "page": page,
                                   "result": None, "documents": index().count(),
                                   "failing": failing_sources(),
                                   "threshold": settings.crawl.failing_runs_alert}
        if q.strip():
            offset = (context["page"] - 1) * PAGE_SIZE
            result = index().search(q, limit=PAGE_SIZE, offset=offset, sort=sort, facets=True,
                                    facet_size=PAGE_FACETS, interval="month")
            context.update(result=result, has_next=offset + PAGE_SIZE < result.total,
                           facets=facet_view(result.facets))
        return templates.TemplateResponse(request, "search.html", context)

    def facet_view(facets: Facets | None) -> dict[str, Any] | None:
        """The facets as the page shows them: each value with its label, count and the
        filter a click adds to the query; the months with a bar width."""
        if facets is None:
            return None
        names = crime_names()
        peak = max((b.count for b in facets.published), default=0) or 1
        return {
            "source": [(b.value, b.count, f'source:"{b.value}"') for b in facets.source],
            "entities": [
                (kind, [(b.label or b.value, b.count, f'entity:"{b.value}"') for b in buckets])
                for kind, buckets in facets.entities.items() if buckets
            ],
            "crime": [(names.get(b.value, b.value.replace("_", " ")), b.count,
                       f"crime:{b.value}") for b in facets.crime],
            "months": [(b.value[:7], b.count, f"published:{b.value[:7]}",
                        round(100 * b.count / peak)) for b in facets.published],
        }

    @app.get("/fuentes", response_class=HTMLResponse)
    def page_sources(request: Request) -> Response:
        report = sources_health(settings, load_sources(settings.sources))
        return templates.TemplateResponse(request, "sources.html", {
            "query": "", "sources": report, "threshold": settings.crawl.failing_runs_alert,
            "failing": [h for h in report if h.flagged],
        })

    @app.get("/documento/{doc_id}", response_class=HTMLResponse)
    def page_document(request: Request, doc_id: str, q: str = "") -> Response:
        with store() as db:
            doc = db.get(doc_id)
            entities = db.document_entities(doc_id)
        return templates.TemplateResponse(
            request, "document.html", {"doc": doc, "entities": entities, "query": q,
                                       "archive": archive_summary(doc)}
        )

    return app
