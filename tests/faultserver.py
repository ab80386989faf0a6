"""A local HTTP server that misbehaves on purpose, for the fault-injection crawl test.

`/feed.xml` links to good articles and to pages that time out, fail and recover, rate-limit
with Retry-After, loop redirects, hide their charset, truncate their body, are too big, are
empty soft-block pages, or lead to private addresses. `/limpio.xml` links only to good pages,
`/documentos.xml` to a PDF with a text layer and a scanned one. The feeds answer conditional
GET (ETag and Last-Modified). Every request is recorded: path, time, User-Agent, If-None-Match.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORDS = (
    "La Fiscalía Anticorrupción de {city} formalizó la investigación preparatoria contra "
    "funcionarios de la municipalidad por presunta colusión agravada y negociación incompatible "
    "en la compra de maquinaria. Según la disposición fiscal, los investigados habrían "
    "favorecido a una empresa vinculada con un exalcalde a cambio de pagos ilícitos. El "
    "Poder Judicial evaluará el pedido de impedimento de salida del país la próxima semana, "
    "mientras la Contraloría revisa los contratos firmados entre {year} y el presente año."
)
CITIES = ("Lima", "Arequipa", "Piura", "Cusco", "Trujillo", "Chiclayo", "Iquitos", "Puno")


def article(title: str, n: int, extra: str = "") -> str:
    body = WORDS.format(city=CITIES[n % len(CITIES)], year=2010 + n)
    return (
        f'<!doctype html><html lang="es"><head><title>{title} | Diario Fallas</title>'
        f'<meta property="article:published_time" content="2026-09-{10 + n:02d}T09:00:00-05:00">'
        f"</head><body><nav><a href='/'>Inicio</a></nav><article><h1>{title}</h1>"
        f"<p>{body}</p><p>{extra}Caso número {n}: el expediente sigue en trámite.</p>"
        "</article><footer>Diario Fallas</footer></body></html>"
    )


LATIN1_TEXT = (
    "La corrupción en la región: la Fiscalía investiga a funcionarios por cohecho pasivo "
    "propio y lavado de activos. "
)
# gob.pe's soft block: a full page of markup, scripts and styles, and not one visible word.
SOFT_BLOCK = (
    "<!doctype html><html lang='es'><head><meta charset='utf-8'><title>gob.pe</title><style>"
    + "".join(f".c{n}{{margin:{n}px;padding:{n}px;color:#{n:06x}}}" for n in range(120))
    + "</style><script>"
    + "".join(f"window.__d{n}={{k:{n}}};" for n in range(120))
    + "</script></head><body>"
    + "".join(f"<div class='c{n}'><span></span></div>" for n in range(120))
    + "</body></html>"
)
FEED_DATE = formatdate(1790000000, usegmt=True)


def rss(base: str, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Nota {n}</title><link>{path if '://' in path else base + path}</link>"
        f"<pubDate>{FEED_DATE}</pubDate></item>"
        for n, path in enumerate(paths)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Diario Fallas</title><link>{base}/</link><description>x</description>"
        f"{items}</channel></rss>"
    ).encode()


GOOD = ["/nota/1", "/nota/2", "/nota/3", "/nota/4"]
CLEAN = ["/limpia/1", "/limpia/2"]
RECOVERING = ["/error-500", "/limite-429", "/bloqueo-breve"]
# link in the feed -> (what its failure reason must say, how the failed URL ends)
BAD = {
    "/lento": ("timeout", "/lento"),
    "/bucle-a": ("redirect loop", "/bucle-b"),
    "/truncada": ("truncated response (data loss)", "/truncada"),
    "/enorme": ("too large", "/enorme"),
    "/enorme-sin-longitud": ("too large", "/enorme-sin-longitud"),
    "/bloqueo": ("soft block (empty 200 page)", "/bloqueo"),
    "http://10.0.0.1/nota-interna": ("private address", "http://10.0.0.1/nota-interna"),
    "/a-privado": ("private address", "http://169.254.169.254/latest/meta-data"),
}
PDFS = ["/doc-texto.pdf", "/doc-escaneado.pdf"]


@dataclass
class Hit:
    path: str
    at: float
    user_agent: str
    if_none_match: str | None


@dataclass
class FaultServer:
    """Start with `with FaultServer(...) as server:`; `server.base_url` is where it listens."""

    text_pdf: bytes
    scanned_pdf: bytes
    slow_seconds: float = 2.5  # past the test's DOWNLOAD_TIMEOUT
    big_bytes: int = 300_000
    hits: list[Hit] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        handler = type("Handler", (_Handler,), {"fault": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def times(self, path: str) -> list[float]:
        return [hit.at for hit in self.hits if hit.path == path]

    def feed_paths(self) -> list[str]:
        return [*GOOD, *RECOVERING, *BAD, "/latin1"]


class _Handler(BaseHTTPRequestHandler):
    fault: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _record(self) -> int:
        hit = Hit(self.path, time.monotonic(), self.headers.get("User-Agent", ""),
                  self.headers.get("If-None-Match"))
        with self.fault.lock:
            self.fault.hits.append(hit)
            self.fault.counts[self.path] += 1
            return self.fault.counts[self.path]

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the crawler gave up on us (timeout, too large)
            self.wfile.write(body)

    def _feed(self, paths: list[str]) -> None:
        etag = f'"{self.path.strip("/")}-{len(paths)}"'
        validators = {"ETag": etag, "Last-Modified": FEED_DATE}
        if self.headers.get("If-None-Match") == etag:
            self._send(304, content_type="", headers=validators)
            return
        body = rss(self.fault.base_url, paths)
        self._send(200, body, "application/rss+xml; charset=utf-8", validators)

    def do_GET(self) -> None:
        count = self._record()
        path = self.path
        fault = self.fault
        if path == "/robots.txt":
            self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        elif path == "/feed.xml":
            self._feed(fault.feed_paths())
        elif path == "/limpio.xml":
            self._feed(CLEAN)
        elif path == "/documentos.xml":
            self._feed(PDFS)
        elif path in GOOD or path in CLEAN:
            n = int(path.rsplit("/", 1)[1]) + (10 if path in CLEAN else 0)
            self._send(200, article(f"Nota buena número {n}", n).encode())
        elif path == "/lento":
            time.sleep(fault.slow_seconds)
            self._send(200, article("Nota lenta", 20).encode())
        elif path == "/error-500":
            if count <= 2:
                self._send(500, b"<html><body>Error interno</body></html>")
            else:
                self._send(200, article("Nota tras dos errores", 21).encode())
        elif path == "/limite-429":
            if count <= 2:
                self._send(429, b"Demasiadas solicitudes", "text/plain", {"Retry-After": "1"})
            else:
                self._send(200, article("Nota tras el límite", 22).encode())
        elif path == "/bloqueo-breve":
            if count <= 1:
                self._send(200, SOFT_BLOCK.encode())
            else:
                self._send(200, article("Nota tras un bloqueo", 23).encode())
        elif path == "/bloqueo":
            self._send(200, SOFT_BLOCK.encode())
        elif path == "/bucle-a":
            self._send(302, headers={"Location": "/bucle-b"})
        elif path == "/bucle-b":
            self._send(302, headers={"Location": "/bucle-a"})
        elif path == "/a-privado":
            self._send(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
        elif path == "/latin1":
            page = article("Corrupción en la región", 24, LATIN1_TEXT)
            self._send(200, page.encode("latin-1"), "text/html")  # no charset anywhere
        elif path == "/truncada":
            body = article("Nota truncada", 25).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body) * 2))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
        elif path == "/enorme":
            padding = "relleno " * (fault.big_bytes // 8)
            self._send(200, article("Nota enorme", 26, padding).encode())
        elif path == "/enorme-sin-longitud":  # no Content-Length: the bytes must be counted
            big = article("Nota enorme sin longitud", 27, "relleno " * (fault.big_bytes // 8))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(big.encode())
            self.close_connection = True
        elif path == "/doc-texto.pdf":
            self._send(200, fault.text_pdf, "application/pdf")
        elif path == "/doc-escaneado.pdf":
            self._send(200, fault.scanned_pdf, "application/pdf")
        else:
            self._send(404, b"<html><body>No encontrado</body></html>")
