"""Shared fixtures: the bundled demo site on a real local HTTP server, a workspace, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pesquisa.demo.site import DemoServer, build_site, load_articles
from pesquisa.settings import Settings, load_settings
from pesquisa.sources import write_source

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
