"""Shared fixtures: the bundled demo site on a real local HTTP server, a workspace, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pesquisa.demo.site import DemoServer, build_site, load_articles
from pesquisa.settings import Settings, load_settings
from pesquisa.sources import write_source
from tests.es_node import (
    REQUIRE_ENV,
    EsNode,
    NodeUnavailable,
    delete_indexes,
    require_es,
    start_node,
)

REPO = Path(__file__).resolve().parent.parent

# Fast, still robots-obeying crawls of the local fixture site.
FAST_CRAWL = {
    "PESQUISA_CRAWL__DOWNLOAD_DELAY": "0",
    "PESQUISA_CRAWL__AUTOTHROTTLE": "false",
    "PESQUISA_CRAWL__RETRIES": "1",
    "PESQUISA_CRAWL__TIMEOUT": "10",
}


@dataclass
class Site:
    base_url: str
    root: Path
    sources: list[dict[str, Any]]
    articles: list[dict[str, Any]]


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("site")
    with DemoServer(root) as server:
        sources = build_site(root, server.base_url)
        yield Site(server.base_url, root, sources, load_articles())


@dataclass
class Workspace:
    data_dir: Path
    sources_dir: Path
    env: dict[str, str]

    def settings(self, **overrides: Any) -> Settings:
        return load_settings(overrides=overrides, environ=self.env)

    def cli(self, *args: str, timeout: float = 300, check: bool = False,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "pesquisa", *args], env=self.env, cwd=REPO, text=True,
            capture_output=True, timeout=timeout, input=input,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"pesquisa {' '.join(args)} failed:\n{result.stderr}")
        return result


def make_workspace(tmp_path: Path, site: Site) -> Workspace:
    """A data dir and a sources folder whose sources crawl the demo site."""
    data_dir = tmp_path / "data"
    sources_dir = tmp_path / "sources"
    for source in site.sources:
        write_source(source, sources_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESQUISA_")}
    env.update(FAST_CRAWL)
    env.update({"PESQUISA_DATA_DIR": str(data_dir), "PESQUISA_SOURCES": str(sources_dir)})
    return Workspace(data_dir, sources_dir, env)


@pytest.fixture
def workspace(tmp_path: Path, site: Site) -> Workspace:
    return make_workspace(tmp_path, site)


# A real Elasticsearch node (tests/es_node.py): started on first use, once per session, stopped at
# its end. ES_NODE_URL reuses a running node instead. A node that cannot start skips the
# tests that need it, except under ES_NODE_REQUIRED=1 (`make test`, CI), where they fail.


@pytest.fixture(scope="session")
def es_node() -> Iterator[EsNode]:
    unavailable: NodeUnavailable | None = None
    try:
        node = start_node()
    except NodeUnavailable as exc:
        unavailable = exc
    if unavailable is not None:  # outside the except block: no chained traceback in the report
        if require_es():
            pytest.fail(f"Elasticsearch node unavailable ({REQUIRE_ENV}=1): {unavailable}",
                        pytrace=False)
        pytest.skip(f"Elasticsearch node unavailable: {unavailable.reason}")
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def es_url(es_node: EsNode) -> str:
    return es_node.url


@pytest.fixture(scope="session")
def es_client(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def es_prefix(es_client: Elasticsearch) -> Iterator[str]:
    """A unique name prefix for this test's indexes, aliases and templates, deleted after it."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_indexes(es_client, prefix)


def interrupt(child: subprocess.Popen[str], timeout: float = 60) -> str:
    """Stop a `pesquisa run` child as Ctrl-C would; its stderr. A child that does not stop
    within `timeout` is killed and fails the test."""
    child.send_signal(signal.SIGINT)
    try:
        return child.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        child.kill()
        stderr = child.communicate()[1]
        raise AssertionError(f"run did not stop on SIGINT:\n{stderr}") from None
