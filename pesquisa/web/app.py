"""The FastAPI app: /api/* returns JSON, the other routes render the Spanish UI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
from indexer.base import IndexBackend
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

Q = Annotated[str, Query(min_length=1, max_length=2000, description="Lucene-style query")]
Limit = Annotated[int, Query(ge=0, le=100)]
Offset = Annotated[int, Query(ge=0, le=10_000)]
SortArg = Annotated[Literal["relevance", "date"], Query()]
Page = Annotated[int, Query(ge=1, le=500)]


def safe_href(url: str) -> str:
    """Only http(s) URLs become links: a stored URL must never run script in our pages."""
    return url if urlsplit(url).scheme in ("http", "https") else "#"


def create_app(settings: Settings) -> FastAPI:
    state: dict[str, IndexBackend] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["index"] = open_index(settings)
        try:
            yield
        finally:
            state.pop("index").close()

    app = FastAPI(title="Pesquisa", version=__version__, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", lifespan=lifespan)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["ui"] = UI
    templates.env.filters["href"] = safe_href
    templates.env.filters["lima"] = lima_time
    templates.env.filters["duration"] = duration_text
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    def index() -> IndexBackend:
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
        title = {400: bad_search, 404: UI["error_not_found"]}.get(status, UI["error_title"])
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
    def api_search(q: Q, limit: Limit = PAGE_SIZE, offset: Offset = 0,
                   sort: SortArg = "relevance") -> dict[str, Any]:
        return index().search(q, limit=limit, offset=offset, sort=sort).to_json()

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
        context: dict[str, Any] = {"query": q, "sort": sort, "page": page,
                                   "result": None, "documents": index().count(),
                                   "failing": failing_sources(),
                                   "threshold": settings.crawl.failing_runs_alert}
        if q.strip():
            offset = (context["page"] - 1) * PAGE_SIZE
            result = index().search(q, limit=PAGE_SIZE, offset=offset, sort=sort)
            context.update(result=result, has_next=offset + PAGE_SIZE < result.total)
        return templates.TemplateResponse(request, "search.html", context)

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
