"""Real PDFs for tests: one with a text layer (fpdf2), one made of page images only (Pillow).

A form feed ("\\f") in `text` starts a new page in both.
"""

from __future__ import annotations

import io
import textwrap
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from pesquisa.lima import LIMA

# Debian's fonts-dejavu-core; without it, Latin-1 core fonts (fpdf2) and Pillow's own font.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"))
CREATED = datetime(2026, 9, 28, 11, 57, tzinfo=LIMA)
DPI = 200


def _font_file() -> Path | None:
    return next((d / "DejaVuSans.ttf" for d in FONT_DIRS if (d / "DejaVuSans.ttf").exists()), None)


def text_pdf(text: str, title: str | None = None) -> bytes:
    """A PDF whose pages carry `text` as real text (a text layer), with `title` in its
    metadata and a creation date of 2026-09-28 11:57 Lima."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(CREATED)
    if title:
        pdf.set_title(title)
    font = _font_file()
    if font is not None:
        pdf.add_font("DejaVu", fname=str(font))
        pdf.set_font("DejaVu", size=11)
    else:
        pdf.set_font("Helvetica", size=11)
    for page in text.split("\f"):
        pdf.add_page()
        pdf.multi_cell(0, 6, page)
    return bytes(pdf.output())


def scanned_pdf(text: str) -> bytes:
    """A PDF of page images only (no text layer), as a scanner makes: `text` drawn in black
    on white at 200 dpi, A4."""
    width, height = int(8.27 * DPI), int(11.69 * DPI)
    font_file = _font_file()
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    if font_file is not None:
        font = ImageFont.truetype(str(font_file), 34)
    else:
        font = ImageFont.load_default(size=34)
    images = []
    for page in text.split("\f"):
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        y = DPI  # one-inch margins
        for paragraph in page.split("\n"):
            for line in textwrap.wrap(paragraph, 70) or [""]:
                draw.text((DPI, y), line, fill=0, font=font)
                y += 52
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    return out.getvalue()
