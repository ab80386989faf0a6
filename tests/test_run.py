"""`pesquisa run`: scheduled crawls, the worker and the web app in one process; Ctrl-C stops it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest

from tests.conftest import REPO, Workspace

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_run_monitors_serves_and_stops_cleanly(workspace: Workspace) -> None:
    port = free_port()
    env = workspace.env | {"PESQUISA_WORKER__INTERVAL": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "pesquisa", "run", "--port", str(port)], env=env, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    found: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            try:
                # "Pataz" is only in the sitemap source, which the scheduler crawls last
                found = get_json(f"{base}/api/search?q=pataz")
                if found.get("total") == 1:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert found.get("total") == 1, "the scheduled crawls never reached the index"
        page = urllib.request.urlopen(f"{base}/?q=corrupci%C3%B3n", timeout=5).read().decode()
        assert "<mark>" in page
    finally:
        child.send_signal(signal.SIGINT)
        try:
            _, stderr = child.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            _, stderr = child.communicate()
            raise AssertionError(f"run did not stop on SIGINT:\n{stderr}") from None
    assert child.returncode in (0, 130), stderr
    assert "Traceback" not in stderr
    assert "stopped" in stderr
    with socket.socket() as probe:  # the port is free again (TIME_WAIT aside)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
