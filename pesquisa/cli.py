"""The `pesquisa` command. Errors become one line on stderr and a non-zero exit, here only."""

from __future__ import annotations

import errno
import html
import io
import itertools
import json
import logging
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from pesquisa.errors import FixInput, NotFound, PesquisaError, RetryLater
from pesquisa.lima import LIMA
from pesquisa.logs import log_traceback, setup_logging
from pesquisa.settings import Settings, load_settings, load_settings_from
from pesquisa.sources import load_source_file, load_sources, select, source_files

if TYPE_CHECKING:
    from indexer.base import Bucket, Facets, Interval, Sort

log = logging.getLogger("pesquisa")


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.find_root().obj
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", type=click.Path(path_type=Path), help="Settings file "
              "(default config/pesquisa.toml; also PESQUISA_CONFIG).")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where all state lives.")
@click.option("--sources", type=click.Path(path_type=Path), help="Folder of source YAML files.")
@click.option("--index-backend", type=click.Choice(["sqlite", "elasticsearch"]))
@click.option("--index-url", help="Elasticsearch URL.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
@click.version_option(package_name="pesquisa")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, **flags: Any) -> None:
    """Pesquisa watches Peruvian news and court and prosecutor bulletins for organized crime
    and corruption: crawl, annotate, index, search."""
    ctx.obj = load_settings(config, overrides=flags)
    setup_logging(ctx.obj)


# -- crawl and process ---------------------------------------------------------------------


def _since(value: str | None) -> date | None:
    """--since YYYY-MM-DD: a day in the past (Lima), or one line saying what is wrong."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        reason = f"expected a date YYYY-MM-DD, got {value!r}"
        raise FixInput("E703", name="--since", reason=reason) from None
    if day > datetime.now(LIMA).date():
        raise FixInput("E703", name="--since", reason=f"{value} is in the future")
    return day


@cli.command()
@click.argument("source_ids", nargs=-1)
@click.option("--since", "since_text", metavar="YYYY-MM-DD", help="Backfill: page listing, "
              "bulletin and api sources back to this day (feeds and sitemaps have no past).")
@click.pass_context
def crawl(ctx: click.Context, source_ids: tuple[str, ...], since_text: str | None) -> None:
    """Crawl now: the named sources, or every enabled one."""
    from crawlers.runner import crawl as run_crawl

    since = _since(since_text)
    settings = _settings(ctx)
    chosen = select(load_sources(settings.sources), source_ids)
    if not chosen:
        raise FixInput("E206", path=settings.sources)
    runs = run_crawl(settings, chosen, since=since)
    rows = [
        [sid, str(r.get("fetched", 0)), str(r.get("new", 0)), str(r.get("updated", 0)),
         str(r.get("seen", 0)), str(r.get("failures", 0))]
        for sid, r in runs.items()
    ]
    _table(["source", "fetched", "new", "updated", "seen", "failures"], rows)
    # A source whose every start URL failed is unreachable or broken: say so, exit non-zero.
    starts = {s.id: len(s.urls) for s in chosen}
    dead = [sid for sid, r in runs.items() if int(r.get("start_failures") or 0) >= starts[sid]]
    if dead:
        raise RetryLater("E301", source=", ".join(dead), reason=runs[dead[0]].get("last_error"))


@cli.command()
@click.pass_context
def process(ctx: click.Context) -> None:
    """Annotate (NLP) and index every pending document."""
    from pesquisa.worker import Worker

    settings = _settings(ctx)
    worker = Worker(settings)
    try:
        def report(progress: Any) -> None:
            click.echo(f"annotated {progress.annotated}, indexed {progress.indexed}", err=True)

        done = worker.run_once(on_batch=report)
    finally:
        worker.close()
    click.echo(f"done: {done.annotated} annotated, {done.indexed} indexed")


@cli.command()
@click.option("--resume", is_flag=True, help="Finish a run that was interrupted: process what "
              "is still queued, without queueing every document again.")
@click.pass_context
def reprocess(ctx: click.Context, resume: bool) -> None:
    """Annotate and index every stored document again, without crawling (after editing
    config/kb/ or the patterns).

    Every document goes back to the queue, then the queue is drained. If the run is killed,
    the documents not yet done stay queued: `pesquisa reprocess --resume` (or `pesquisa
    process`, or the worker of `pesquisa run`) finishes them.
    """
    from pesquisa.worker import Progress, Worker

    settings = _settings(ctx)
    if not settings.store_path.exists():
        raise NotFound("E604", path=settings.store_path)
    worker = Worker(settings)
    bar: Any = None
    shown = 0

    def start(total: int) -> None:
        nonlocal bar
        bar = click.progressbar(length=total, label="reprocessing", file=sys.stderr,
                                show_pos=True, show_eta=True)
        bar.__enter__()

    def advance(progress: Progress) -> None:
        nonlocal shown
        done = progress.indexed + progress.failed
        bar.update(max(0, min(done, bar.length) - shown))
        shown = max(shown, min(done, bar.length))

    try:
        done = worker.reprocess(on_batch=advance, on_start=start, requeue=not resume)
    except KeyboardInterrupt:
        click.echo("\nthe rest stays queued: `pesquisa reprocess --resume` finishes it",
                   err=True)
        raise
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        worker.close()
    click.echo(f"done: {done.annotated} annotated, {done.indexed} indexed, "
               f"{done.failed} failed")


# -- NLP -----------------------------------------------------------------------------------

KINDS = ["official", "person", "institution", "crime_group", "organization", "place"]
NO_ANNOTATION: dict[str, list[Any]] = {"entities": [], "crime_types": [], "case_numbers": []}


def _input_lines(path: Path) -> Iterator[str]:
    """The lines of FILE (or stdin for -), without their line ends; a BOM is dropped."""
    name = "standard input" if str(path) == "-" else str(path)
    try:
        if str(path) == "-":
            handle = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="\n")
        else:
            handle = path.open(encoding="utf-8-sig", newline="\n")
        with handle:
            # only "\n" ends a line (a lone "\r" inside one must not shift the output); the
            # "\r" of a CRLF ending is dropped, so offsets are into the line as a reader sees it
            for line in handle:
                yield line.removesuffix("\n").removesuffix("\r")
    except OSError as exc:
        raise FixInput("E410", path=name, reason=exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise FixInput("E410", path=name, reason=f"not UTF-8 text ({exc.reason})") from None


@cli.command()
@click.argument("file", default="-", type=click.Path(allow_dash=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON line per input line: "
              "{entities: [{start, end, text, label, kind, canonical, entity_id, role}], "
              "crime_types, case_numbers}.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=64, show_default=True,
              help="Lines per spaCy batch.")
@click.pass_context
def annotate(ctx: click.Context, file: Path, as_json: bool, batch_size: int) -> None:
    """Annotate text, one document per line of FILE (default -, standard input).

    Offsets are character offsets into the line. An empty line gives an empty annotation, so
    output line N always belongs to input line N."""
    lines = _input_lines(file)
    first = list(itertools.islice(lines, batch_size))  # a bad file fails before spaCy loads

    from nlp.annotate import annotation
    from nlp.pipeline import load_pipeline

    settings = _settings(ctx)
    nlp = load_pipeline(settings.nlp_model, settings.kb)
    number = 0
    chunk = first
    while chunk:
        for count, line in enumerate(chunk, start=number + 1):
            if len(line) >= nlp.max_length:
                raise FixInput("E411", line=count, path=file, chars=len(line),
                               limit=nlp.max_length)
        texts = [line for line in chunk if line.strip()]
        docs = iter(nlp.pipe(texts, batch_size=batch_size))
        for line in chunk:
            number += 1
            result = annotation(next(docs)) if line.strip() else NO_ANNOTATION
            if as_json:
                click.echo(json.dumps(result, ensure_ascii=False))
            else:
                _print_annotation(number, line, result)
        chunk = list(itertools.islice(lines, batch_size))


def _print_annotation(number: int, line: str, result: dict[str, Any]) -> None:
    preview = line if len(line) <= 70 else line[:69] + "…"
    click.echo(click.style(f"line {number}:", bold=True) + (" " + preview if preview else ""))
    rows = [
        [f"{e['start']}-{e['end']}", e["kind"], e["text"], e["entity_id"], e.get("role") or ""]
        for e in result["entities"]
    ]
    if rows:
        _table(["  chars", "kind", "text", "entity", "role"], [["  " + r[0], *r[1:]]
                                                               for r in rows])
    for crime in result["crime_types"]:
        article = f" (art. {crime['article']})" if crime.get("article") else ""
        click.echo(f"  crime type: {crime.get('name') or crime['code']}{article}")
    for case in result["case_numbers"]:
        click.echo(f"  case number: {case['kind']} {case['normalized']}")
    click.echo("")


@cli.command()
@click.option("--kind", type=click.Choice(KINDS), help="Only entities of this kind.")
@click.option("--limit", type=click.IntRange(0), default=50, show_default=True,
              help="At most this many (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list: "
              "{id, name, label, kind, mentions, documents}.")
@click.pass_context
def entities(ctx: click.Context, kind: str | None, limit: int, as_json: bool) -> None:
    """Entities found in the stored documents, most mentioned first."""
    from pesquisa.store import Store

    settings = _settings(ctx)
    if not settings.store_path.exists():
        raise NotFound("E604", path=settings.store_path)
    with Store(settings.store_path, read_only=True) as store:
        rows = store.entities_with_counts(kind, limit or None)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    _table(["mentions", "docs", "kind", "name", "id"], [
        [str(r["mentions"]), str(r["documents"]), r["kind"], r["name"], r["id"]] for r in rows
    ])


# -- serving -------------------------------------------------------------------------------


def _check_port(host: str, port: int) -> None:
    """Fail early, in one line, when the web server could not listen there."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FixInput("E706", host=host, reason=str(exc)) from None
    for family, kind, proto, _, address in addresses:  # uvicorn binds every one of them
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise FixInput("E702", host=host, port=port) from None
                raise FixInput("E706", host=host, reason=exc.strerror or str(exc)) from None


def _serve(settings: Settings, on_started: Callable[[], None] | None = None) -> None:
    import uvicorn

    from indexer import open_index
    from pesquisa.web.app import create_app

    open_index(settings).close()  # an unusable index is a one-line error before anything starts
    _check_port(settings.web.host, settings.web.port)
    config = uvicorn.Config(
        create_app(settings), host=settings.web.host, port=settings.web.port,
        log_level="warning", access_log=False, log_config=None,
    )
    server = uvicorn.Server(config)
    click.echo(f"web: http://{settings.web.host}:{settings.web.port}/", err=True)
    if on_started:
        on_started()
    server.run()


F = TypeVar("F", bound=Callable[..., Any])


def web_options(command: F) -> F:
    """--host and --port, for the commands that serve the web app."""
    port = click.IntRange(0, 65535)
    command = click.option("--port", type=port, help="Port (default 8000).")(command)
    return click.option("--host", help="Address to listen on (default from settings).")(command)


@cli.command()
@web_options
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the API and the web UI only."""
    settings = _with_web(_settings(ctx), host, port)
    setup_logging(settings, logging.INFO)
    _serve(settings)


def _with_web(settings: Settings, host: str | None, port: int | None) -> Settings:
    flags = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    return load_settings_from(settings, {"web": {**settings.web.model_dump(), **flags}})


@cli.command()
@web_options
@click.pass_context
def run(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Monitor: scheduled crawls, the processing worker, and the web UI, until Ctrl-C."""
    from pesquisa.scheduler import Monitor

    settings = _with_web(_settings(ctx), host, port)
    setup_logging(settings, logging.INFO)
    sources = load_sources(settings.sources)
    if not any(s.enabled for s in sources):
        raise FixInput("E206", path=settings.sources)
    monitor = Monitor(settings, sources)
    try:
        _serve(settings, on_started=monitor.start)
    finally:
        monitor.shutdown()


# -- search and export ---------------------------------------------------------------------


def _terminal_snippet(snippet: str) -> str:
    def bold(match: re.Match[str]) -> str:
        return click.style(match.group(1), bold=True)

    return html.unescape(re.sub(r"<mark>(.*?)</mark>", bold, snippet))


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("query")
@click.option("--limit", type=click.IntRange(0, 1000), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0, 10_000), default=0)
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance",
              show_default=True, help="Without words to rank by, results sort by date.")
@click.option("--facets", "with_facets", is_flag=True, help="Count the matching documents "
              "per source, entity (per kind), crime type and date.")
@click.option("--interval", type=click.Choice(["day", "week", "month"]), default="month",
              show_default=True, help="Date histogram buckets (with --facets).")
@click.option("--facet-size", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Values per facet (with --facets).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {total, hits, facets}.")
@click.pass_context
def search(ctx: click.Context, query: str, limit: int, offset: int, sort: str,
           with_facets: bool, interval: str, facet_size: int, as_json: bool) -> None:
    """Search the index: AND OR NOT, "phrases", "near"~5, prefix*, title: text: source:
    entity: kind: crime: published:[2024-01-01 TO 2024-06-30], * for everything."""
    from indexer import open_index
    from indexer.base import MAX_WINDOW
    from indexer.query import plan

    plan(query)  # a malformed query is the first thing to report, whatever the index
    if offset + limit > MAX_WINDOW:
        raise FixInput("E703", name="--offset",
                       reason=f"--offset + --limit may not pass {MAX_WINDOW}")
    index = open_index(_settings(ctx), create=False)
    try:
        result = index.search(
            query, limit=limit, offset=offset, sort=cast("Sort", sort), facets=with_facets,
            interval=cast("Interval", interval), facet_size=facet_size,
        )
    finally:
        index.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    click.echo(f"{result.total} results")
    for hit in result.hits:
        click.echo("")
        click.echo(click.style(hit.title or hit.url, bold=True))
        copies = f" · +{hit.duplicates} near-duplicates" if hit.duplicates else ""
        click.echo(f"  {hit.source} · {(hit.published or 'undated')[:10]} · {hit.url}{copies}")
        click.echo(f"  {_terminal_snippet(hit.snippet)}")
    if result.facets is not None:
        _print_facets(result.facets)


def _print_facets(facets: Facets) -> None:
    """One line per facet: `value (count)`, entities as `name [id] (count)`."""
    def line(name: str, buckets: list[Bucket]) -> None:
        values = " · ".join(
            f"{b.label} [{b.value}] ({b.count})" if b.label else f"{b.value} ({b.count})"
            for b in buckets
        )
        click.echo(f"  {name}: {values or '-'}")

    click.echo("")
    click.echo(click.style("facets (documents, before near-duplicates are collapsed)",
                           bold=True))
    line("source", facets.source)
    for kind, buckets in facets.entities.items():
        line(f"entity {kind}", buckets)
    line("crime", facets.crime)
    line(f"published by {facets.interval}", facets.published)


@cli.command()
@click.option("--to", "backend", type=click.Choice(["sqlite", "elasticsearch"]),
              help="The backend to build (default: the one the settings use).")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Documents per write.")
@click.pass_context
def reindex(ctx: click.Context, backend: str | None, batch_size: int) -> None:
    """Build a new index from the store and switch searches to it at once.

    Searches keep using the old index until the new one is complete (Elasticsearch: a new
    versioned index, then an atomic alias swap; SQLite: new tables beside the old ones,
    switched in one transaction); a failure leaves the old one in place. Use it to move to
    Elasticsearch (--to elasticsearch), or after an upgrade changes the index format. Holds
    the worker lock: `pesquisa run` keeps crawling and serving, its worker waits.
    """
    from pesquisa.reindex import reindex as run_reindex

    settings = _settings(ctx)
    bar: Any = None
    shown = 0

    def start(total: int) -> None:
        nonlocal bar
        bar = click.progressbar(length=total, label="reindexing", file=sys.stderr,
                                show_pos=True, show_eta=True)
        bar.__enter__()

    def advance(sent: int) -> None:
        nonlocal shown
        done = min(sent, bar.length)
        bar.update(max(0, done - shown))
        shown = max(shown, done)

    try:
        try:
            done = run_reindex(settings, backend, batch_size, on_start=start, on_batch=advance)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    except KeyboardInterrupt:  # the new index was dropped; E508 says the same of a failure
        click.echo("\nreindex stopped: searches still use the previous index", err=True)
        raise
    click.echo(f"done: {done.indexed} documents in the new {done.backend} index "
               f"({done.sent} sent from the store)")
    if done.backend != settings.index_backend:
        click.echo(f"searches still use the {settings.index_backend} index: to switch, set "
                   f"PESQUISA_INDEX_BACKEND={done.backend} (or index_backend = "
                   f'"{done.backend}" in the config file) and restart Pesquisa')


@cli.group()
def export() -> None:
    """Export data for other tools."""


@export.command("documents")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File (default stdout).")
@click.pass_context
def export_documents(ctx: click.Context, fmt: str, output: Path | None) -> None:
    """Every stored document, one JSON object per line."""
    from pesquisa.store import Store

    settings = _settings(ctx)
    if not settings.store_path.exists():
        raise NotFound("E604", path=settings.store_path)
    with Store(settings.store_path) as store:
        lines = (json.dumps(doc.export(), ensure_ascii=False) + "\n"
                 for doc in store.iter_documents())
        if output is None:
            for line in lines:
                sys.stdout.write(line)
            return
        _write_atomically(output, lines)
    click.echo(f"wrote {output}", err=True)


def _write_atomically(path: Path, lines: Iterable[str]) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written export.

    A symlink is followed (its target is replaced); a FIFO or a device is written through,
    since renaming over it would replace it.
    """
    tmp: str | None = None
    try:
        kind = path.stat().st_mode if path.exists() else None  # follows symlinks
        if kind is not None and stat.S_ISDIR(kind):
            raise IsADirectoryError(21, "is a directory")
        # /dev/stdout (whatever the shell made it), a pipe, a device: write through it, in
        # append mode so that a shell's `>>` keeps what was there.
        if str(path).startswith(("/dev/", "/proc/")) or (
            kind is not None and not stat.S_ISREG(kind)
        ):
            with path.open("a", encoding="utf-8") as handle:
                handle.writelines(lines)
            return
        path = path.resolve()  # a symlink to a file: replace its target, keep the link
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(lines)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; an export is an ordinary file
        os.replace(tmp, path)
        tmp = None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        raise FixInput("E701", path=path, reason=reason) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


# -- archive (evidence) --------------------------------------------------------------------


@cli.group()
def archive() -> None:
    """The archived responses (WARC files) documents were extracted from."""


@archive.command("show")
@click.argument("doc_id")
@click.option("--headers", "only_headers", is_flag=True,
              help="Print the status line and headers only.")
@click.option("--raw", is_flag=True,
              help="Write the body exactly as received (maybe gzip or br encoded), nothing else.")
@click.pass_context
def archive_show(ctx: click.Context, doc_id: str, only_headers: bool, raw: bool) -> None:
    """Print a document's archived response: status line, headers and decoded body.

    Its SHA-256 digest is checked first; where and when it was captured goes to stderr."""
    from pesquisa.archive import read_archived
    from pesquisa.store import Store

    settings = _settings(ctx)
    if not settings.store_path.exists():
        raise NotFound("E604", path=settings.store_path)
    with Store(settings.store_path, read_only=True) as store:
        doc = store.get(doc_id)
    copy = read_archived(settings.data_dir, doc)
    where = f" · {doc.warc.file} @ {doc.warc.offset}" if doc.warc else ""
    click.echo(f"captured {copy.captured} · {copy.url} · {copy.digest}{where}", err=True)
    out = sys.stdout.buffer
    # warcio reads header lines as UTF-8 (latin-1 when they are not): gob.pe's UTF-8 file
    # names in Content-Disposition come back as they were sent
    head = copy.head().encode("utf-8")
    if raw:
        out.write(copy.payload)
    elif only_headers:
        out.write(head)
    else:
        out.write(head + b"\r\n" + copy.body)
    out.flush()


# -- sources -------------------------------------------------------------------------------


@cli.group()
def sources() -> None:
    """List and check the source files."""


@sources.command("list")
@click.pass_context
def sources_list(ctx: click.Context) -> None:
    """The configured sources."""
    rows = [
        [s.id, s.kind, "yes" if s.enabled else "no", s.schedule, s.urls[0]]
        for s in load_sources(_settings(ctx).sources)
    ]
    _table(["id", "kind", "enabled", "schedule", "url"], rows)


@sources.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def sources_check(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Validate source files (all of the sources folder by default)."""
    paths = list(files) or source_files(_settings(ctx).sources)
    bad = 0
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            source = load_source_file(path)
            if source.id in seen:
                raise FixInput("E204", id=source.id, path=path, other=seen[source.id])
            seen[source.id] = path
            click.echo(f"ok    {source.id:28} {path}")
        except PesquisaError as exc:
            bad += 1
            click.echo(f"pesquisa: error: {exc.message}", err=True)
    if bad:
        raise click.exceptions.Exit(2)
    click.echo(f"{len(paths)} source files are valid")


@sources.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per source.")
@click.pass_context
def sources_status(ctx: click.Context, as_json: bool) -> None:
    """Each source's last crawl run and its streak of failed runs (! = flagged)."""
    from pesquisa.health import duration_text, lima_time, sources_health

    settings = _settings(ctx)
    configured = load_sources(settings.sources)
    if not settings.store_path.exists():
        raise NotFound("E604", path=settings.store_path)
    report = sources_health(settings, configured)
    if as_json:
        click.echo(json.dumps([h.to_json() for h in report], ensure_ascii=False))
        return
    rows = []
    for h in report:
        run = h.last_run or {}
        error = str(run.get("last_error") or "")
        rows.append([
            ("! " if h.flagged else "  ") + h.source, h.kind, lima_time(run.get("started_at")),
            "running" if h.state == "running" else duration_text(run.get("duration")),
            *(str(run.get(key, "-")) for key in ("fetched", "new", "seen", "duplicates",
                                                  "failures")),
            str(h.streak), error if len(error) <= 60 else error[:59] + "…",
        ])
    _table(["  source", "kind", "last start (Lima)", "duration", "fetched", "new", "seen",
            "dup", "fail", "streak", "last error"], rows)
    flagged = [h.source for h in report if h.flagged]
    if flagged:
        threshold = settings.crawl.failing_runs_alert
        click.echo(f"! {len(flagged)} failing {threshold}+ runs in a row: {', '.join(flagged)}")


# -- demo ----------------------------------------------------------------------------------


@cli.command()
@click.option("--serve/--no-serve", "do_serve", default=True, help="Serve the web UI after.")
@click.option("--port", type=int, help="Web UI port (default 8000).")
@click.pass_context
def demo(ctx: click.Context, do_serve: bool, port: int | None) -> None:
    """Crawl, annotate and index the bundled sample site offline, then open the web UI."""
    from pesquisa.demo.site import DemoServer, build_site
    from pesquisa.scheduler import crawl_command
    from pesquisa.sources import write_source
    from pesquisa.worker import Worker

    base = _with_web(_settings(ctx), None, port)
    root = base.data_dir / "demo"
    shutil.rmtree(root, ignore_errors=True)  # the site's port changes each run: start afresh
    settings = load_settings_from(base, {
        "data_dir": root, "sources": root / "sources",
        "crawl": {"download_delay": 0.0, "autothrottle": False, "crawl_on_start": False},
    })
    setup_logging(settings, logging.INFO)
    if do_serve:
        _check_port(settings.web.host, settings.web.port)
    (root / "site").mkdir(parents=True)
    with DemoServer(root / "site") as site:
        for source in build_site(root / "site", site.base_url):
            write_source(source, settings.sources)
        click.echo(f"demo site: {site.base_url}/", err=True)
        env = {**os.environ, **settings.to_env()}
        code = subprocess.call(crawl_command([]), env=env, stdin=subprocess.DEVNULL)
        if code != 0:
            raise FixInput("E301", source="demo", reason=f"crawler exited with code {code}")
        worker = Worker(settings)
        try:
            done = worker.run_once()
        finally:
            worker.close()
        click.echo(f"demo: {done.indexed} documents indexed", err=True)
        if do_serve:
            _serve(settings)


# -- output and the edge -------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one place where errors turn into a line on stderr and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="pesquisa", standalone_mode=False)
    except PesquisaError as exc:
        click.echo(f"pesquisa: error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"pesquisa: error: {exc.format_message()} (see pesquisa --help)", err=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("pesquisa: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        log_traceback(log, "internal error")
        click.echo(
            f"pesquisa: internal error: {type(exc).__name__}: {exc} "
            "(details in the log file under the data dir)", err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
