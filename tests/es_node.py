"""A real Elasticsearch node for tests and benchmarks: started by scripts/es-node, or reused.

`start_node()` reuses the node named by ES_NODE_URL when it is set (somebody else started
it and will stop it), otherwise starts one on a free port in `.es-node/test-<pid>` and returns its
URL; `EsNode.stop()` stops only a node started here. The script gets `--owner <our pid>`, so a
session killed without its teardown (SIGKILL, CI timeout) does not leave a JVM behind.
Nothing here imports pytest: `bench/` uses `running_node()` too.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from elasticsearch import Elasticsearch, NotFoundError

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "es-node"
NODES_DIR = REPO / ".es-node"
URL_ENV = "ES_NODE_URL"
REQUIRE_ENV = "ES_NODE_REQUIRED"
# A first run downloads ~40 MB of jars with retries, then waits up to ES_NODE_TIMEOUT (180 s).
START_TIMEOUT = 900.0
STDERR_TAIL = 40


class NodeUnavailable(Exception):
    """The node could not be started or reached: first line the reason, then the script's stderr."""

    @property
    def reason(self) -> str:
        return str(self).splitlines()[0] if str(self) else "unknown reason"


@dataclass
class EsNode:
    url: str
    dir: Path | None = None  # None: a node started by somebody else, never stopped here

    def stop(self) -> None:
        """Stop a node started here and delete its dir; keep the dir when the node had died."""
        if self.dir is None:
            return
        result = run_script("stop", "--dir", str(self.dir), timeout=120)
        if result.returncode == 0 and "stopped pid" in result.stderr:
            shutil.rmtree(self.dir, ignore_errors=True)


def run_script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False,
        cwd=REPO, stdin=subprocess.DEVNULL,
    )


def require_es() -> bool:
    """True where a missing node must fail the tests (`make test`, CI) instead of skipping them."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


def start_node(directory: Path | None = None) -> EsNode:
    """The node of ES_NODE_URL, or a new one on a free port; raises NodeUnavailable."""
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        check_reachable(url)
        return EsNode(url)
    prune_stale_dirs()
    directory = directory or NODES_DIR / f"test-{os.getpid()}"
    args = ("start", "--port", "0", "--dir", str(directory), "--owner", str(os.getpid()))
    try:
        result = run_script(*args, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        EsNode("", directory).stop()
        message = f"scripts/es-node start took more than {START_TIMEOUT:.0f} s"
        raise NodeUnavailable(message) from exc
    except OSError as exc:  # the script is missing or not executable, no bash
        raise NodeUnavailable(f"cannot run {SCRIPT}: {exc}") from exc
    except BaseException:  # Ctrl-C while starting: the node may already run
        EsNode("", directory).stop()
        raise
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not lines[-1].startswith("http://"):
        if not (directory / "logs").is_dir():  # failed before a JVM ran: nothing to diagnose there
            shutil.rmtree(directory, ignore_errors=True)
        raise NodeUnavailable(failure_message(result))
    return EsNode(lines[-1].strip(), directory)


def failure_message(result: subprocess.CompletedProcess[str]) -> str:
    """The script's one-line reason (its last stderr line) first, then the lines before it."""
    stderr = result.stderr.strip().splitlines()
    reason = stderr[-1] if stderr else f"scripts/es-node start exited with {result.returncode}"
    tail = "\n".join(stderr[-STDERR_TAIL - 1:-1])
    return f"{reason}\n{tail}" if tail else reason


def check_reachable(url: str) -> None:
    """A reused node must answer with health >= yellow, or the tests say why they cannot run."""
    client = Elasticsearch(url, request_timeout=30)
    try:
        health = client.cluster.health(wait_for_status="yellow", timeout="20s").body
    except Exception as exc:  # any transport or HTTP error means: not usable
        raise NodeUnavailable(f"{URL_ENV}={redact(url)} does not answer: {exc}") from exc
    finally:
        client.close()
    if health.get("timed_out") or health.get("status") not in ("green", "yellow"):
        raise NodeUnavailable(f"{URL_ENV}={redact(url)} is {health.get('status')}, not yellow")


def redact(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//***@", url)


def prune_stale_dirs() -> None:
    """Remove `.es-node/test-<pid>` dirs of sessions that are gone, stopping a leftover node."""
    if not NODES_DIR.is_dir():
        return
    for path in NODES_DIR.glob("test-*"):
        match = re.fullmatch(r"test-(\d+)", path.name)
        if not match or not path.is_dir() or pid_alive(int(match.group(1))):
            continue
        if run_script("status", "--dir", str(path), timeout=30).returncode != 3:
            run_script("stop", "--dir", str(path), timeout=120)
        shutil.rmtree(path, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def running_node(directory: Path | None = None) -> Iterator[EsNode]:
    """A node for the duration of a block (benchmarks); stopped after, if started here."""
    node = start_node(directory)
    try:
        yield node
    finally:
        node.stop()


def delete_indexes(client: Elasticsearch, prefix: str) -> list[str]:
    """Delete the indexes (and index/component templates) named `<prefix>*`; return the indexes.

    Names are resolved first and deleted explicitly: a real ES 8 cluster refuses wildcard
    deletes (action.destructive_requires_name defaults to true).
    """
    if len(prefix) < 4 or re.search(r"[*?,\s]", prefix):
        raise ValueError(f"refusing to delete indexes by the broad prefix {prefix!r}")
    pattern = f"{prefix}*"
    names = sorted(client.indices.get(
        index=pattern, expand_wildcards="all", allow_no_indices=True, ignore_unavailable=True,
    ))
    for start in range(0, len(names), 50):
        client.indices.delete(index=",".join(names[start:start + 50]), ignore_unavailable=True)
    try:
        templates = client.indices.get_index_template(name=pattern)["index_templates"]
    except NotFoundError:
        templates = []
    for template in templates:
        client.indices.delete_index_template(name=template["name"])
    try:
        components = client.cluster.get_component_template(name=pattern)["component_templates"]
    except NotFoundError:
        components = []
    for component in components:
        client.cluster.delete_component_template(name=component["name"])
    return names


class Outage:
    """A TCP relay in front of a node that a test can cut off and bring back, on the same port:
    what a client sees when Elasticsearch goes down mid-run (connections refused, open ones
    dropped) and comes back. `url` is the relay's; `cut()` and `restore()` switch it."""

    def __init__(self, node_url: str) -> None:
        target = urlsplit(node_url)
        self._target = (target.hostname or "127.0.0.1", target.port or 9200)
        self._scheme = target.scheme or "http"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server: socket.socket | None = None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.restore()

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}"

    def restore(self) -> None:
        """Listen again: new connections reach the node."""
        with self._lock:
            if self._server is not None:
                return
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", self.port))
            server.listen(64)
            self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and drop every open connection: the node is unreachable."""
        with self._lock:
            server, self._server = self._server, None
            sockets, self._open = set(self._open), set()
        if server is not None:
            _close(server)
        for sock in sockets:
            _close(sock)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # cut: the listening socket is closed
                return
            try:
                upstream = socket.create_connection(self._target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._server is not server:
                    _close(client)
                    _close(upstream)
                    return
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):  # not connected, or already shut
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
