"""Our crawl never has more than `concurrent_per_host` requests in flight to one host, whatever
the download delay, with AutoThrottle on or off: a real server counts them as they arrive."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pesquisa.sources import write_source
from tests.conftest import Workspace
from tests.faultserver import article, rss

pytestmark = pytest.mark.slow

PAGES = 16
LATENCY = 0.1  # seconds each article takes to answer: long enough for requests to overlap


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # a burst must reach the handler, not wait in the listen backlog


class CountingServer:
    """Serves `/feed.xml` linking to PAGES slow articles; records the most requests in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.served = 0
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"counter": self})
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> CountingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    counter: CountingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        counter = self.counter
        with counter.lock:
            counter.in_flight += 1
            counter.max_in_flight = max(counter.max_in_flight, counter.in_flight)
        try:
            if self.path == "/robots.txt":
                body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
            elif self.path == "/feed.xml":
                paths = [f"/nota/{n}" for n in range(PAGES)]
                body, kind = rss(counter.base_url, paths), "application/rss+xml; charset=utf-8"
            else:
                time.sleep(LATENCY)
                n = int(self.path.rsplit("/", 1)[1])
                body, kind = article(f"Nota concurrida {n}", n).encode(), "text/html"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with counter.lock:
                counter.in_flight -= 1
                counter.served += 1


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with CountingServer() as counting:
        yield counting


@pytest.mark.parametrize(("delay", "autothrottle"), [
    ("0", "false"),  # what tests and the demo use
    ("0.02", "false"),  # below the latency: requests still overlap
    ("0", "true"),  # AutoThrottle: the first response (robots.txt) sets a positive delay
])
def test_requests_in_flight_per_host_stay_within_the_limit(
    workspace: Workspace, server: CountingServer, delay: str, autothrottle: str
) -> None:
    workspace.env.update({
        "PESQUISA_CRAWL__DOWNLOAD_DELAY": delay,
        "PESQUISA_CRAWL__AUTOTHROTTLE": autothrottle,
        "PESQUISA_CRAWL__AUTOTHROTTLE_START_DELAY": "0",
        "PESQUISA_CRAWL__CONCURRENT_PER_HOST": "2",
    })
    write_source({"id": "concurrida", "name": "Concurrida", "kind": "feed",
                  "urls": [server.base_url + "/feed.xml"], "schedule": "*/30 * * * *"},
                 workspace.sources_dir)
    result = workspace.cli("crawl", "concurrida", timeout=60)
    assert result.returncode == 0, result.stderr
    assert server.served == PAGES + 2  # robots.txt, the feed, every article
    assert server.max_in_flight == 2, server.max_in_flight  # overlapping, never beyond
