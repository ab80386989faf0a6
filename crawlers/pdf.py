"""Text of a PDF: its text layer (PDFium), or tesseract OCR in Spanish when it has none.

pypdfium2 (Google's PDFium, as in Chrome) both reads the text layer and renders pages for
OCR, so one library does both; PDFium is fast and forgiving with the damaged PDFs that
official sites serve. OCR runs the `tesseract` command (Debian `tesseract-ocr` and
`tesseract-ocr-spa`) on each rendered page, offline, within a page and time budget.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import pypdfium2 as pdfium

from crawlers.dates import utc_offset
from pesquisa.lima import LIMA

logger = logging.getLogger(__name__)

MIN_CHARS_PER_PAGE = 20  # less than this on average: no usable text layer, OCR it
OCR_DPI = 200
OCR_MAX_PAGES = 30
OCR_MAX_SECONDS = 180.0
OCR_LANGUAGE = "spa"
_PDF_DATE = re.compile(
    r"^D?:?(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?P<z>[Zz]|[+\-]\d{2}'?\d{2}'?)?"
)


@dataclass(frozen=True)
class PdfText:
    text: str
    title: str | None  # from the PDF's metadata
    pages: int
    ocr_used: bool
    created: str | None  # the PDF's creation date, ISO 8601 in Lima time


def pdf_date(value: str | None) -> str | None:
    """A PDF date ("D:20260928115700-05'00'") as ISO 8601 in Lima time; None if unreadable."""
    match = _PDF_DATE.match((value or "").strip())
    if not match:
        return None
    g = match.groupdict()
    zone = LIMA if not g["z"] else utc_offset(g["z"])
    try:
        when = datetime(
            int(g["y"]), int(g["mo"] or 1), int(g["d"] or 1), int(g["h"] or 0),
            int(g["mi"] or 0), int(g["s"] or 0), tzinfo=zone,
        )
    except ValueError:
        return None
    return when.astimezone(LIMA).isoformat(timespec="seconds")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@contextmanager
def _document(body: bytes) -> Iterator[pdfium.PdfDocument]:
    pdf = pdfium.PdfDocument(body)
    try:
        yield pdf
    finally:
        pdf.close()


def _text_layer(pdf: pdfium.PdfDocument) -> list[str]:
    pages = []
    for index in range(len(pdf)):
        try:
            page = pdf[index]
            textpage = page.get_textpage()
            pages.append(_clean(textpage.get_text_bounded()))
            textpage.close()
            page.close()
        except pdfium.PdfiumError as exc:  # one broken page: keep the others
            logger.info("PDF page %d unreadable: %s", index + 1, exc)
            pages.append("")
    return pages


def tesseract_ready() -> bool:
    """True when the `tesseract` command and its Spanish data are installed."""
    try:
        listed = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return OCR_LANGUAGE in listed.stdout.split()


def _ocr(pdf: pdfium.PdfDocument, max_pages: int, max_seconds: float) -> list[str] | None:
    """Each page's OCR text (up to `max_pages`, within `max_seconds`); None without tesseract."""
    deadline = time.monotonic() + max_seconds
    # tesseract's own threads would fight the crawler for the CPU; one page at a time is ours.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    pages: list[str] = []
    for index in range(min(len(pdf), max_pages)):
        left = deadline - time.monotonic()
        if left <= 0:
            logger.warning("OCR stopped after %d pages: time budget spent", index)
            break
        try:
            page = pdf[index]
            image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
            page.close()
        except pdfium.PdfiumError as exc:
            logger.info("PDF page %d not rendered: %s", index + 1, exc)
            pages.append("")
            continue
        png = io.BytesIO()
        image.save(png, "PNG")
        try:
            done = subprocess.run(
                ["tesseract", "stdin", "stdout", "-l", OCR_LANGUAGE, "--dpi", str(OCR_DPI)],
                input=png.getvalue(), capture_output=True, timeout=left, env=env, check=False,
            )
        except FileNotFoundError:
            logger.warning("OCR skipped: the tesseract command is not installed")
            return None
        except subprocess.TimeoutExpired:
            logger.warning("OCR stopped at page %d: time budget spent", index + 1)
            break
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            logger.warning("tesseract failed on page %d: %s", index + 1, message[-1:])
            if b"Failed loading language" in done.stderr:
                return None
            pages.append("")
            continue
        pages.append(_clean(done.stdout.decode("utf-8", "replace")))
    return pages


def extract_pdf(
    body: bytes,
    *,
    ocr: bool = True,
    max_ocr_pages: int = OCR_MAX_PAGES,
    max_ocr_seconds: float = OCR_MAX_SECONDS,
) -> PdfText | None:
    """The text of the PDF in `body`, or None when it is not a readable PDF.

    The text layer is used when it holds at least MIN_CHARS_PER_PAGE characters a page on
    average; otherwise, with `ocr`, the first `max_ocr_pages` pages are OCR'd in Spanish
    within `max_ocr_seconds`. The text may be empty (no text layer and no OCR): the caller
    decides what a PDF without text is. Never raises on broken input.
    """
    if not body.lstrip()[:1024].count(b"%PDF"):
        return None
    try:
        with _document(body) as pdf:
            count = len(pdf)
            if count == 0:
                return None
            metadata = pdf.get_metadata_dict(skip_empty=True)
            pages = _text_layer(pdf)
            text = "\n\n".join(p for p in pages if p)
            ocr_used = False
            if ocr and len(text) < MIN_CHARS_PER_PAGE * count:
                scanned = _ocr(pdf, max_ocr_pages, max_ocr_seconds)
                if scanned is not None and len("".join(scanned)) > len(text):
                    text, ocr_used = "\n\n".join(p for p in scanned if p), True
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        logger.info("unreadable PDF: %s", exc)
        return None
    title = " ".join(str(metadata.get("Title", "")).split()) or None
    return PdfText(text, title, count, ocr_used, pdf_date(metadata.get("CreationDate")))
