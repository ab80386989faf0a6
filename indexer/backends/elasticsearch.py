"""The Elasticsearch 8 index: a versioned index behind an alias, bulk writes, the same answers
as the SQLite backend.

Searches and writes go to the alias (`settings.elasticsearch.index`); `rebuild` fills a new
versioned index beside the current one and swaps the alias in one atomic call, so searches never
stop. Queries are compiled from the shared plan (`es_query.py`), documents are pre-analyzed
(`es_mapping.py`), snippets come from the shared highlighter, not from Elasticsearch's.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    ConnectionError,
    ConnectionTimeout,
    Elasticsearch,
    NotFoundError,
    SSLError,
    TransportError,
    UnsupportedProductError,
    helpers,
)

from indexer.backends.es_mapping import (
    CRIME_FACET,
    FACET_FIELD,
    MAPPING_VERSION,
    document,
    index_name,
    index_settings,
    is_versioned,
    mappings,
)
from indexer.backends.es_query import compile_query
from indexer.base import (
    DEFAULT_FACET_SIZE,
    Bucket,
    Facets,
    Hit,
    IndexDocument,
    Interval,
    SearchResult,
    Sort,
    check_search,
)
from indexer.facets import entity_bucket, facet_kinds, fill_histogram
from indexer.highlight import Highlighter
from indexer.plan import has_text
from indexer.query import ENTITY_KINDS, plan
from pesquisa.errors import FixInput, NotFound, PesquisaError, RetryLater

if TYPE_CHECKING:
    from pesquisa.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_URL = "http://localhost:9200"
MAX_RETRIES = 2  # per request, on a refused connection or a 429/502/503/504
BULK_CHUNK_DOCS = 500
BULK_CHUNK_BYTES = 20 * 1024 * 1024  # under http.max_content_length (100 MB) with room
BULK_THREADS = 2  # rebuild: bulk requests in flight while the next chunk is analyzed
# The total counts clusters exactly: matching documents, less the extra members of every
# cluster with two or more matching documents (a terms aggregation lists those clusters first,
# by count; few documents have near-duplicates). The singletons a shard leaves out of its
# list change nothing. Only with more than this many such clusters, or with several shards
# that each cut their list (a cluster split between them may be missed: the aggregation's
# error bound says so), the total falls back to the cardinality aggregation, an estimate
# (HyperLogLog: exact to a few units below CARDINALITY_PRECISION, ~1% beyond).
MAX_SHARED_CLUSTERS = 10_000
CARDINALITY_PRECISION = 40_000
SOURCE_FIELDS = ["url", "title", "text", "published", "source"]
MAX_REASON_CHARS = 300
# Bulk item statuses that say nothing against the document: the index behind the alias is
# missing (404), a write block (403: set by an operator; 429: disk flood stage), credentials
# (401), a timeout (408), a conflict (409), too many requests (429). Any 5xx too. An item
# failing with another 4xx (400: document_parsing_exception, illegal_argument_exception;
# 413: too large) is refused for good.
PASSING_STATUSES = frozenset({401, 403, 404, 408, 409, 429})


def client_options(settings: Settings) -> dict[str, Any]:
    """The Elasticsearch client's arguments, from the settings."""
    es = settings.elasticsearch
    options: dict[str, Any] = {
        "hosts": [settings.index_url or DEFAULT_URL],
        "request_timeout": es.timeout,
        "max_retries": MAX_RETRIES,
        "retry_on_status": (429, 502, 503, 504),
        "retry_on_timeout": False,  # a timeout already waited `timeout` seconds
    }
    if es.api_key:
        options["api_key"] = es.api_key
    elif es.username:
        options["basic_auth"] = (es.username, es.password or "")
    if es.ca_certs is not None:
        options["ca_certs"] = str(es.ca_certs)
    if not es.verify_certs:
        options["verify_certs"] = False
        options["ssl_show_warn"] = False
    return options


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON_CHARS else line[:MAX_REASON_CHARS - 1] + "…"


def _api_reason(exc: ApiError) -> str:
    """Elasticsearch's own reason, from the deepest cause it gives."""
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        cause = causes[0] if isinstance(causes[0], dict) else error
        return _one_line(f"{cause.get('type', 'error')}: {cause.get('reason', '')}")
    return _one_line(str(error or exc.message))


def _item_reason(item: Any) -> str:
    """A bulk item error as one line: "type: reason"."""
    error: Any = item.get("error", item) if isinstance(item, dict) else item
    if isinstance(error, dict):
        error = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    return _one_line(str(error))


class ElasticsearchIndex:
    """The index behind `alias` (default: settings.elasticsearch.index) on an Elasticsearch 8
    cluster. With `create`, a missing alias gets a new empty index, and `needs_reindex` tells
    the caller to index every stored document again."""

    name = "elasticsearch"

    def __init__(self, settings: Settings, *, create: bool = True,
                 alias: str | None = None) -> None:
        self.url = settings.index_url or DEFAULT_URL
        self.alias = alias or settings.elasticsearch.index
        self.shards = settings.elasticsearch.shards
        self.replicas = settings.elasticsearch.replicas
        self.needs_reindex = False
        self._found: int | None = MAPPING_VERSION  # mapping version behind the alias
        self._found_index = ""
        try:
            self.client = Elasticsearch(**client_options(settings))
        except ValueError as exc:  # e.g. TLS options with an http:// URL
            raise FixInput("E103", key="index_url",
                           reason=_one_line(f"{self.url}: {exc}")) from None
        # entity kinds with a facet field (replaced whole, never changed in place: threads)
        self._kinds = frozenset(facet_kinds(ENTITY_KINDS))
        with self._errors():
            holders = self._holders()
            if not holders:
                if self.client.indices.exists(index=self.alias):
                    raise FixInput("E503", backend=self.name, reason=(
                        f"{self.alias} at {self.url} is an index, not an alias: delete it or "
                        "set another [elasticsearch] index"))
                if not create:
                    raise NotFound("E505", path=f"{self.url} index {self.alias}")
                self.needs_reindex = self._create()
            self._read_version()

    # -- errors ------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, query: bool = False) -> Iterator[None]:
        """Client exceptions as coded errors: unreachable -> E504, credentials or TLS -> E507,
        a missing index -> E505; with `query`, a request Elasticsearch refuses -> E502."""
        try:
            yield
        except PesquisaError:
            raise
        except Exception as exc:
            self._raise(exc, query)

    def _raise(self, exc: Exception, query: bool = False) -> NoReturn:
        if isinstance(exc, helpers.BulkIndexError):
            first: Any = exc.errors[0] if exc.errors else {}
            item: Any = next(iter(first.values()), {}) if isinstance(first, dict) else first
            error = _item_reason(item)
            reason = f"{len(exc.errors)} documents refused at {self.url}, first: {error}"
            raise RetryLater("E504", reason=_one_line(reason)) from None
        if isinstance(exc, helpers.ScanError):
            raise RetryLater("E504", reason=f"{self.url}: {_one_line(str(exc))}") from None
        if isinstance(exc, SSLError):
            raise FixInput("E507", url=self.url, reason=_one_line(str(exc))) from None
        if isinstance(exc, ConnectionTimeout):
            raise RetryLater("E504", reason=f"Elasticsearch at {self.url} timed out") from None
        if isinstance(exc, ConnectionError):
            reason = f"cannot connect to Elasticsearch at {self.url}: {_one_line(exc.message)}"
            raise RetryLater("E504", reason=reason) from None
        if isinstance(exc, AuthenticationException | AuthorizationException):
            raise FixInput("E507", url=self.url, reason=_api_reason(exc)) from None
        if isinstance(exc, UnsupportedProductError):
            raise FixInput("E503", backend=self.name,
                           reason=f"{self.url} is not Elasticsearch 8") from None
        if isinstance(exc, NotFoundError):
            raise NotFound("E505", path=f"{self.url} index {self.alias}") from None
        if isinstance(exc, ApiError):
            if query and exc.meta.status == 400:
                raise FixInput("E502", reason=_api_reason(exc)) from None
            if exc.meta.status in (429, 500, 502, 503, 504):
                raise RetryLater("E504", reason=f"{self.url}: {_api_reason(exc)}") from None
            raise FixInput("E503", backend=self.name,
                           reason=f"{self.url}: {_api_reason(exc)}") from None
        if isinstance(exc, TransportError):
            raise RetryLater("E504", reason=f"{self.url}: {_one_line(str(exc))}") from None
        raise exc

    # -- the alias and its versioned indexes ---------------------------------------------------

    def _holders(self) -> list[str]:
        """The indexes the alias points at (normally one; none when it does not exist)."""
        try:
            found = self.client.indices.get_alias(name=self.alias)
        except NotFoundError:
            return []
        return sorted(found.body)

    def _new_index(self, *, filling: bool) -> str:
        """Create a new empty versioned index; a name taken (same second) moves on a second."""
        moment = datetime.now(UTC)
        for _ in range(60):
            name = index_name(self.alias, moment)
            try:
                self.client.indices.create(
                    index=name, settings=index_settings(self.shards, self.replicas,
                                                        filling=filling),
                    mappings=mappings())
                return name
            except ApiError as exc:
                if "resource_already_exists" not in str(exc.body):
                    raise
                moment += timedelta(seconds=1)
        raise RetryLater("E504", reason=f"cannot name a new index for {self.alias}")

    def _create(self) -> bool:
        """A new empty index behind the alias; True when it is the one kept.

        Processes starting at once on an empty cluster may each create one. Whoever sees the
        alias on several indexes keeps the first by name and detaches and deletes the others,
        so they all settle on one index, whichever checks last."""
        name = self._new_index(filling=False)
        self.client.indices.update_aliases(actions=[{"add": {"index": name,
                                                             "alias": self.alias}}])
        holders = self._holders()
        keep = holders[0] if holders else name
        others = [index for index in holders if index != keep]
        lenient = self.client.options(ignore_status=404)  # another process was quicker
        for index in others:
            lenient.indices.update_aliases(actions=[{"remove": {"index": index,
                                                                "alias": self.alias}}])
            lenient.indices.delete(index=index)
        if keep != name:
            return False
        log.info("created Elasticsearch index %s behind alias %s", name, self.alias)
        return True

    def _read_version(self) -> None:
        found = self.client.indices.get_mapping(index=self.alias)
        versions = {
            index: (body.get("mappings", {}).get("_meta") or {}).get("pesquisa_mapping")
            for index, body in found.body.items()
        }
        stale = sorted(i for i, v in versions.items() if v != MAPPING_VERSION)
        self._found_index = stale[0] if stale else next(iter(versions), "")
        self._found = versions[stale[0]] if stale else MAPPING_VERSION
        facet = [body.get("mappings", {}).get("properties", {}).get(FACET_FIELD, {})
                 for body in found.body.values()]
        self._add_kinds({k for f in facet for k in f.get("properties", {})})

    def _add_kinds(self, kinds: set[str]) -> None:
        if not kinds <= self._kinds:
            self._kinds = self._kinds | frozenset(facet_kinds(kinds))

    def _check_version(self) -> None:
        """E506 when the alias points at an index of another mapping version. Read again then:
        another process (`pesquisa reindex`) may have swapped the alias since."""
        if self._found == MAPPING_VERSION:
            return
        self._read_version()
        if self._found != MAPPING_VERSION:
            raise FixInput("E506", index=self._found_index,
                           found=self._found if self._found is not None else "none",
                           needed=MAPPING_VERSION)

    # -- writes ------------------------------------------------------------------------------

    def _actions(self, docs: Iterable[IndexDocument], index: str) -> Iterator[dict[str, Any]]:
        for doc in docs:
            yield {"_op_type": "index", "_index": index, "_id": doc.id, "_source": document(doc)}

    def upsert(self, docs: Sequence[IndexDocument]) -> dict[str, str]:
        """Index `docs`; the ones Elasticsearch refuses for good (a 4xx item error such as
        document_parsing_exception) are left out (an older version of one is deleted) and
        returned, id -> reason. An item error
        that may pass (PASSING_STATUSES, 5xx: e.g. the alias is missing, a write block) or
        an unreachable node raises RetryLater E504: the same batch can be sent again."""
        if not docs:
            return {}
        actions = list(self._actions(docs, self.alias))
        with self._errors():
            self._check_version()
            # require_alias: if the alias is gone (a node that lost its data), a write must
            # fail rather than create a plain index under the alias's name.
            _, errors = helpers.bulk(
                self.client, actions, chunk_size=BULK_CHUNK_DOCS,
                max_chunk_bytes=BULK_CHUNK_BYTES, max_retries=MAX_RETRIES,
                require_alias=True, raise_on_error=False)
            refused = self._refused(errors if isinstance(errors, list) else [])
            if refused:  # an older version of a refused document must not stay searchable
                helpers.bulk(self.client, ({"_op_type": "delete", "_index": self.alias,
                                            "_id": i} for i in refused),
                             ignore_status=(404,), require_alias=True)
            self.client.indices.refresh(index=self.alias)
        for action in actions:  # facet fields exist only for documents indexed
            if action["_id"] not in refused:
                self._add_kinds(set(action["_source"][FACET_FIELD]))
        return refused

    def _refused(self, errors: list[dict[str, Any]]) -> dict[str, str]:
        """The items refused for good (a 4xx status not in PASSING_STATUSES: the document
        itself is at fault), id -> reason; RetryLater E504 when any item failed for a reason
        that may pass."""
        refused: dict[str, str] = {}
        transient: list[str] = []
        for error in errors:
            item: Any = next(iter(error.values()), {})
            status = int(item.get("status", 500)) if isinstance(item, dict) else 500
            reason = _item_reason(item)
            if status in PASSING_STATUSES or not 400 <= status < 500:
                transient.append(reason)
            else:
                refused[str(item.get("_id"))] = reason
        if transient:
            raise RetryLater("E504", reason=_one_line(
                f"{len(transient)} documents not indexed at {self.url}, first: "
                f"{transient[0]}"))
        return refused

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._errors():
            self._check_version()
            actions = ({"_op_type": "delete", "_index": self.alias, "_id": i} for i in ids)
            helpers.bulk(self.client, actions, chunk_size=BULK_CHUNK_DOCS,
                         max_retries=MAX_RETRIES, ignore_status=(404,), require_alias=True)
            self.client.indices.refresh(index=self.alias)

    def rebuild(self, batches: Iterable[Sequence[IndexDocument]]) -> int:
        """Fill a new versioned index, then swap the alias to it in one call and delete the
        old indexes; on failure the new index goes and the alias stays (E508). Unlike
        `upsert`, a document Elasticsearch refuses fails the whole rebuild (E508, with its
        reason): the worker marks such documents failed, and a rebuild reads no failed ones,
        so only a refusable document the worker has not tried yet can stop a rebuild."""
        try:
            with self._errors():
                name = self._new_index(filling=True)
        except PesquisaError as exc:
            raise RetryLater("E508", reason=exc.message) from None
        try:
            with self._errors():
                self._fill(name, batches)
                self.client.indices.refresh(index=name)
                self.client.indices.put_settings(index=name, settings={
                    "index": {"refresh_interval": "1s", "number_of_replicas": self.replicas}})
                count = int(self.client.count(index=name)["count"])
                old = self._holders()
                self.client.indices.update_aliases(actions=[
                    *({"remove": {"index": index, "alias": self.alias}} for index in old),
                    {"add": {"index": name, "alias": self.alias}},
                ])
        except BaseException as exc:
            self._drop(name)
            if isinstance(exc, PesquisaError):
                raise RetryLater("E508", reason=exc.message) from None
            if isinstance(exc, Exception):
                raise RetryLater("E508", reason=_one_line(f"{type(exc).__name__}: {exc}")) \
                    from None
            raise
        self._found, self._found_index = MAPPING_VERSION, name
        self.needs_reindex = False
        log.info("alias %s now points at %s (%d documents)", self.alias, name, count)
        self._delete_old(keep=name)
        return count

    def _fill(self, name: str, batches: Iterable[Sequence[IndexDocument]]) -> None:
        """Bulk every batch into `name`: the batches are read and analyzed in this thread (a
        store connection may be bound to it), while up to BULK_THREADS chunks are in flight."""
        pending: deque[Future[None]] = deque()
        with ThreadPoolExecutor(BULK_THREADS, thread_name_prefix="es-bulk") as pool:

            def send(chunk: list[dict[str, Any]]) -> None:
                if len(pending) >= BULK_THREADS:
                    pending.popleft().result()
                pending.append(pool.submit(self._send, chunk))

            chunk: list[dict[str, Any]] = []
            size = 0
            for batch in batches:
                for action in self._actions(batch, name):
                    self._add_kinds(set(action["_source"][FACET_FIELD]))
                    chunk.append(action)
                    size += _size(action["_source"])
                    if len(chunk) >= BULK_CHUNK_DOCS or size >= BULK_CHUNK_BYTES:
                        send(chunk)
                        chunk, size = [], 0
            if chunk:
                send(chunk)
            while pending:
                pending.popleft().result()

    def _send(self, actions: list[dict[str, Any]]) -> None:
        for _ in helpers.streaming_bulk(self.client, actions, chunk_size=BULK_CHUNK_DOCS,
                                        max_chunk_bytes=BULK_CHUNK_BYTES,
                                        max_retries=MAX_RETRIES):
            pass

    def _drop(self, name: str) -> None:
        try:
            self.client.options(ignore_status=404).indices.delete(index=name)
        except Exception as exc:  # the node is gone too: the empty index stays, unaliased
            log.warning("could not delete the unfinished index %s: %s", name, exc)

    def _delete_old(self, keep: str) -> None:
        """Delete the alias's other versioned indexes (none is searched any more)."""
        try:
            found = self.client.indices.get(index=f"{self.alias}-v*", expand_wildcards="all")
            old = [i for i in found.body if i != keep and is_versioned(self.alias, i)
                   and self.alias not in found.body[i].get("aliases", {})]
            for index in old:
                self.client.options(ignore_status=404).indices.delete(index=index)
                log.info("deleted the previous index %s", index)
        except Exception as exc:  # searches already use the new index: only space is lost
            log.warning("could not delete the previous indexes of %s: %s", self.alias, exc)

    # -- reads -------------------------------------------------------------------------------

    def count(self) -> int:
        with self._errors():
            return int(self.client.count(index=self.alias)["count"])

    def ids(self) -> Iterator[str]:
        with self._errors():
            for hit in helpers.scan(self.client, index=self.alias, size=1000, scroll="5m",
                                    query={"query": {"match_all": {}}, "_source": False}):
                yield str(hit["_id"])

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        offset: int = 0,
        sort: Sort = "relevance",
        facets: bool = False,
        interval: Interval = "month",
        facet_size: int = DEFAULT_FACET_SIZE,
        ids: Sequence[str] | None = None,
    ) -> SearchResult:
        tree = plan(query)
        check_search(limit, offset, sort, interval, facet_size)
        dsl = compile_query(tree, wrapped=0 if ids is None else 1)
        if ids is not None:
            dsl = {"bool": {"must": [dsl], "filter": [{"ids": {"values": list(ids)}}]}}
        if sort == "relevance" and has_text(tree):
            order: list[Any] = [{"_score": "desc"}, {"doc_id": "asc"}]
        else:
            order = [{"published_at": {"order": "desc", "missing": "_last"}},
                     {"doc_id": "asc"}]
        aggs: dict[str, Any] = {"shared": {"terms": {
            "field": "cluster", "min_doc_count": 2, "size": MAX_SHARED_CLUSTERS}}}
        kinds = sorted(self._kinds)
        if facets:
            aggs.update(_facet_aggs(kinds, interval, facet_size))
        request: dict[str, Any] = {
            "query": dsl, "sort": order, "from_": offset, "size": limit, "aggs": aggs,
            "track_total_hits": True, "source": SOURCE_FIELDS,
            "allow_partial_search_results": False,  # a failed shard is an error, not fewer hits
        }
        if limit:
            request["collapse"] = {"field": "cluster",
                                   "inner_hits": {"name": "members", "size": 0}}
        with self._errors(query=True):
            self._check_version()
            found = self.client.search(index=self.alias, **request).body
        marker = Highlighter(tree)
        hits = [_hit(raw, marker) for raw in found["hits"]["hits"]]
        result = SearchResult(total=self._total(found, dsl), hits=hits)
        if facets:
            result.facets = _facets(found["aggregations"], kinds, interval)
        return result

    def _total(self, found: dict[str, Any], dsl: dict[str, Any]) -> int:
        """Matching clusters: exact unless the clusters with several matching members may not
        all be listed (see MAX_SHARED_CLUSTERS; then the cardinality estimate)."""
        shared = found["aggregations"]["shared"]
        if (len(shared["buckets"]) < MAX_SHARED_CLUSTERS
                and shared.get("doc_count_error_upper_bound", 0) == 0):
            matching = int(found["hits"]["total"]["value"])
            return matching - sum(int(b["doc_count"]) - 1 for b in shared["buckets"])
        clusters = {"cardinality": {"field": "cluster",
                                    "precision_threshold": CARDINALITY_PRECISION}}
        with self._errors(query=True):
            estimate = self.client.search(index=self.alias, query=dsl, size=0,
                                          aggs={"clusters": clusters},
                                          allow_partial_search_results=False).body
        return int(estimate["aggregations"]["clusters"]["value"])

    def close(self) -> None:
        self.client.close()


def _size(body: dict[str, Any]) -> int:
    """About how many bytes a document's body takes in a bulk request."""
    return 512 + sum(len(value) for value in body.values() if isinstance(value, str))


def _terms_agg(field: str, size: int) -> dict[str, Any]:
    return {"terms": {"field": field, "size": size,
                      "order": [{"_count": "desc"}, {"_key": "asc"}]}}


def _facet_aggs(kinds: list[str], interval: Interval, size: int) -> dict[str, Any]:
    aggs = {"source": _terms_agg("source", size), "crime": _terms_agg(CRIME_FACET, size),
            "published": {"date_histogram": {"field": "day", "calendar_interval": interval,
                                             "min_doc_count": 1, "format": "yyyy-MM-dd"}}}
    for kind in kinds:
        aggs[f"entity:{kind}"] = _terms_agg(f"{FACET_FIELD}.{kind}", size)
    return aggs


def _buckets(agg: dict[str, Any]) -> list[Bucket]:
    return [Bucket(str(b["key"]), int(b["doc_count"])) for b in agg["buckets"]]


def _facets(aggs: dict[str, Any], kinds: list[str], interval: Interval) -> Facets:
    entities = {}
    for kind in kinds:
        buckets = aggs[f"entity:{kind}"]["buckets"]
        if buckets:
            entities[kind] = [entity_bucket(str(b["key"]), int(b["doc_count"]))
                              for b in buckets]
    histogram = {b["key_as_string"]: int(b["doc_count"]) for b in aggs["published"]["buckets"]}
    return Facets(source=_buckets(aggs["source"]), entities=entities,
                  crime=_buckets(aggs["crime"]), interval=interval,
                  published=fill_histogram(histogram, interval))


def _hit(raw: dict[str, Any], marker: Highlighter) -> Hit:
    source = raw["_source"]
    members = raw.get("inner_hits", {}).get("members", {}).get("hits", {}).get("total", {})
    score = raw.get("_score")
    return Hit(
        id=str(raw["_id"]),
        url=source.get("url", ""),
        title=source.get("title", ""),
        published=source.get("published"),
        source=source.get("source", ""),
        snippet=marker.snippet(source.get("text") or ""),
        score=float(score) if score is not None else None,
        duplicates=max(int(members.get("value", 1)) - 1, 0),
    )
