"""Read a document's archived response back from the WARC files, and check its digest."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import zlib
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

from pesquisa.errors import NotFound, PesquisaError
from pesquisa.store import Document, WarcPointer

# What a damaged gzip member or WARC record can raise while warcio reads it (AttributeError:
# a response record without WARC-Target-URI).
_DAMAGE = (ArchiveLoadFailed, StatusAndHeadersParserException, zlib.error, EOFError, ValueError,
           AttributeError)


@dataclass(frozen=True)
class ArchivedResponse:
    """One archived HTTP response, as it came off the wire."""

    url: str  # WARC-Target-URI
    captured: str  # WARC-Date, UTC
    status_line: str  # "HTTP/1.1 200 OK"
    headers: list[tuple[str, str]]
    payload: bytes  # the body as received: still content-encoded (gzip, br) if it was
    digest: str  # sha256:<hex> of the payload, checked against the document's pointer

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def content_type(self) -> str:
        return self.header("Content-Type") or "application/octet-stream"

    @property
    def body(self) -> bytes:
        """The payload decoded from its Content-Encoding; as received when that fails."""
        encoding = (self.header("Content-Encoding") or "").strip().lower()
        if encoding not in BufferedReader.get_supported_decompressors():
            return self.payload
        try:
            decoded: bytes = BufferedReader(io.BytesIO(self.payload), decomp_type=encoding).read()
        except _DAMAGE:
            return self.payload
        return decoded

    def head(self) -> str:
        """Status line and headers, as an HTTP message starts."""
        return "".join([f"{self.status_line}\r\n", *(f"{k}: {v}\r\n" for k, v in self.headers)])

    def filename(self, stem: str) -> str:
        kind = self.content_type.split(";")[0].strip().lower()
        extension = {"text/html": ".html", "text/plain": ".txt", "application/xml": ".xml",
                     "text/xml": ".xml"}.get(kind) or mimetypes.guess_extension(kind) or ".bin"
        return stem + extension


def sha256_digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def warc_path(data_dir: Path, pointer: WarcPointer) -> Path | None:
    """The WARC file a pointer names; None when it would lie outside the data dir's warc/."""
    root = (data_dir / "warc").resolve()
    path = (data_dir / pointer.file).resolve()
    return path if path.is_relative_to(root) else None


def read_archived(data_dir: Path, doc: Document) -> ArchivedResponse:
    """The response a document was extracted from, verified against its stored digest.

    Raises NotFound (E607 no copy, E608 missing file) or PesquisaError (E609 unreadable,
    E610 digest mismatch): a damaged archive is a one-line error, never a traceback.
    """
    pointer = doc.warc
    if pointer is None:
        raise NotFound("E607", id=doc.id)
    where = {"id": doc.id, "file": pointer.file}
    path = warc_path(data_dir, pointer)
    if path is None:
        raise PesquisaError("E609", **where, offset=pointer.offset,
                            reason="the path leaves the data dir's warc folder")
    try:
        with path.open("rb") as handle:
            handle.seek(pointer.offset)
            chunk = handle.read(pointer.length)
    except FileNotFoundError:
        raise NotFound("E608", **where) from None
    except OSError as exc:
        raise PesquisaError("E609", **where, offset=pointer.offset,
                            reason=exc.strerror or str(exc)) from None
    if len(chunk) != pointer.length:
        raise PesquisaError("E609", **where, offset=pointer.offset,
                            reason=f"file ends {pointer.length - len(chunk)} bytes early")
    try:
        found, recorded = _parse(chunk)
    except _DAMAGE as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise PesquisaError("E609", **where, offset=pointer.offset, reason=reason) from None
    # The record's own label must agree with its bytes too, not only the store's copy.
    if pointer.digest != found.digest or recorded != found.digest:
        raise PesquisaError("E610", **where, expected=pointer.digest, found=found.digest)
    return found


def _parse(chunk: bytes) -> tuple[ArchivedResponse, str]:
    """The one response record in `chunk` (a gzip member) and the payload digest it states;
    ValueError when it is not one."""
    for record in ArchiveIterator(io.BytesIO(chunk)):
        if record.rec_type != "response" or record.http_headers is None:
            raise ValueError(f"a {record.rec_type} record, not a response")
        payload = record.raw_stream.read()
        recorded = record.rec_headers.get_header("WARC-Payload-Digest") or ""
        http = record.http_headers
        return ArchivedResponse(
            url=record.rec_headers.get_header("WARC-Target-URI") or "",
            captured=record.rec_headers.get_header("WARC-Date") or "",
            status_line=f"{http.protocol} {http.statusline}".strip(),
            headers=list(http.headers),
            payload=payload,
            digest=sha256_digest(payload),
        ), recorded
    raise ValueError("no WARC record there")


def capture_date(data_dir: Path, pointer: WarcPointer | None) -> str | None:
    """The WARC-Date of a pointer's record, read from its header only; None when unreadable
    (pages still render; `read_archived` reports what is wrong)."""
    if pointer is None or (path := warc_path(data_dir, pointer)) is None:
        return None
    try:
        with path.open("rb") as handle:
            handle.seek(pointer.offset)
            for record in ArchiveIterator(io.BytesIO(handle.read(pointer.length))):
                date: str | None = record.rec_headers.get_header("WARC-Date")
                return date
    except (OSError, *_DAMAGE):
        return None
    return None
