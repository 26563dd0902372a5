"""A printable A4 poster for one outreach event, as PDF (to print) and PNG (to share in chats).

Why one layout drawn twice: the poster is laid out once in points (text lines, QR codes,
boxes), then painted by reportlab into the PDF and by Pillow into the PNG, so both files show
exactly the same thing. Both use DejaVu Sans from matplotlib's data (always installed with the
outreach extra), so line widths measured for wrapping hold in both.

Readability for low-vision readers and people new to reporting: black on white with a dark
blue title band, body text of at least 20 pt, one idea per line, plain Indonesian.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from bot.outreach.entry_points import EntryPoints

PAGE_WIDTH, PAGE_HEIGHT = 595.0, 842.0  # A4 in points
MARGIN = 36.0
DARK_BLUE = (11, 42, 91)
BLACK = (0, 0, 0)
WHITE = (255, 255, 255)
BODY_PT = 20
MIN_BODY_PT = 18
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember")


def _font_path(bold: bool) -> str:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name)


@dataclass(frozen=True)
class Text:
    x: float
    baseline: float  # from the top of the page, in points
    text: str
    size: float
    bold: bool = False
    color: Tuple[int, int, int] = BLACK


@dataclass(frozen=True)
class Box:
    x: float
    top: float
    width: float
    height: float
    color: Tuple[int, int, int]


@dataclass(frozen=True)
class QrCode:
    x: float
    top: float
    size: float
    modules: Tuple[Tuple[bool, ...], ...]  # including the white quiet zone


@dataclass(frozen=True)
class EventDetails:
    name: str
    place: str
    event_date: dt.date
    code: str


def indonesian_date(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def qr_modules(data: str) -> Tuple[Tuple[bool, ...], ...]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


class _Measure:
    """Text widths in points, with the same TrueType fonts the painters use."""

    def __init__(self) -> None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        for name, bold in (("DejaVuSans", False), ("DejaVuSans-Bold", True)):
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, _font_path(bold)))
        self._width = pdfmetrics.stringWidth

    def width(self, text: str, size: float, bold: bool) -> float:
        return self._width(text, "DejaVuSans-Bold" if bold else "DejaVuSans", size)

    def wrap(self, text: str, size: float, bold: bool, width: float) -> List[str]:
        lines, current = [], ""
        for word in text.split():
            candidate = f"{current} {word}".strip()
            if current and self.width(candidate, size, bold) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        return lines + ([current] if current else [])

    def fit(self, text: str, size: float, bold: bool, width: float, smallest: float) -> float:
        """The largest size from ``size`` down to ``smallest`` at which ``text`` fits on one line."""
        while size > smallest and self.width(text, size, bold) > width:
            size -= 1
        return size


def layout(details: EventDetails, entry: EntryPoints) -> List[object]:
    """Everything on the page, top to bottom; coordinates in points from the top-left corner."""
    measure = _Measure()
    items: List[object] = []
    inner = PAGE_WIDTH - 2 * MARGIN
    header: List[object] = []
    y = MARGIN - 4
    title = "Sampaikan laporan Anda"
    title_size = measure.fit(title, 44, True, inner, 34)  # at least 34 pt: far above the body text
    for line in measure.wrap(title, title_size, True, inner):
        y += title_size + 4
        header.append(Text(MARGIN, y, line, title_size, True, WHITE))
    y += 8
    for text, size, bold in ((details.name, 26, True), (details.place, BODY_PT, False),
                             (indonesian_date(details.event_date), BODY_PT, False)):
        for line in measure.wrap(text, size, bold, inner)[:2]:
            y += size + 10
            header.append(Text(MARGIN, y, line, size, bold, WHITE))
    header_height = y + 22
    items.append(Box(0, 0, PAGE_WIDTH, header_height, DARK_BLUE))
    items.extend(header)

    rows = []
    if entry.telegram_link:
        rows.append((entry.telegram_link, "Telegram", ["Pindai kode QR ini.", "Lalu tekan MULAI."]))
    if entry.whatsapp_link:
        rows.append((entry.whatsapp_link, f"WhatsApp {entry.whatsapp_number}",
                     ["Pindai kode QR ini.", "Lalu tekan tombol kirim."]))
    if entry.sms_qr_payload:
        rows.append((entry.sms_qr_payload, f"SMS ke {entry.sms_number}", [f"Ketik: {entry.sms_text}", "Atau pindai kode QR ini."]))
    gap = 16.0
    top = header_height + 22
    footer_height = 120.0
    room = PAGE_HEIGHT - MARGIN / 2 - footer_height - top
    # Large enough to scan from arm's length (>= 110 pt, about 4 cm), as large as the page allows.
    qr_size = max(110.0, min(170.0, room / max(len(rows), 1) - gap))
    text_x = MARGIN + qr_size + 22
    text_width = PAGE_WIDTH - MARGIN - text_x
    for data, heading, lines in rows:
        items.append(QrCode(MARGIN, top, qr_size, qr_modules(data)))
        heading_size = measure.fit(heading, 26, True, text_width, 20)
        baseline = top + 40
        items.append(Text(text_x, baseline, heading, heading_size, True))
        for line in lines:
            bold = line.startswith("Ketik:")
            size = measure.fit(line, 24 if bold else BODY_PT, bold, text_width, MIN_BODY_PT)
            for part in measure.wrap(line, size, bold, text_width):
                baseline += size + 12
                items.append(Text(text_x, baseline, part, size, bold))
        top += qr_size + gap

    y = top + 10
    items.append(Box(MARGIN, y - 6, inner, 2, BLACK))
    for line, bold in (
        ("Boleh kirim pesan suara.", False),
        ("Boleh melapor tanpa nama (anonim).", False),
        (f"Kode acara: {details.code}", True),
    ):
        y += 32
        items.append(Text(MARGIN, y, line, 24 if bold else 22, bold))
    return items


def check_fits(items: Sequence[object]) -> None:
    """Raise if anything runs off the page: a clipped line on a printed poster cannot be fixed."""
    measure = _Measure()
    for item in items:
        if isinstance(item, Text):
            right = item.x + measure.width(item.text, item.size, item.bold)
            if right > PAGE_WIDTH - MARGIN + 0.5 or item.baseline > PAGE_HEIGHT - MARGIN / 2:
                raise ValueError(f"poster text does not fit: {item.text!r}")
        if isinstance(item, QrCode) and item.top + item.size > PAGE_HEIGHT - MARGIN / 2:
            raise ValueError("poster QR codes do not fit on the page")


def write_pdf(items: Sequence[object], path: Path, title: str) -> Path:
    from reportlab.pdfgen import canvas

    _Measure()  # registers the fonts
    pdf = canvas.Canvas(str(path), pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
    pdf.setTitle(title)
    for item in items:
        if isinstance(item, Box) and item.height > 0:
            pdf.setFillColorRGB(*(c / 255 for c in item.color))
            pdf.rect(item.x, PAGE_HEIGHT - item.top - item.height, item.width, item.height, stroke=0, fill=1)
        elif isinstance(item, Text):
            pdf.setFillColorRGB(*(c / 255 for c in item.color))
            pdf.setFont("DejaVuSans-Bold" if item.bold else "DejaVuSans", item.size)
            pdf.drawString(item.x, PAGE_HEIGHT - item.baseline, item.text)
        elif isinstance(item, QrCode):
            cell = item.size / len(item.modules)
            pdf.setFillColorRGB(1, 1, 1)
            pdf.rect(item.x, PAGE_HEIGHT - item.top - item.size, item.size, item.size, stroke=0, fill=1)
            pdf.setFillColorRGB(0, 0, 0)
            for row_index, row in enumerate(item.modules):
                for column_index, dark in enumerate(row):
                    if dark:
                        x = item.x + column_index * cell
                        y = PAGE_HEIGHT - item.top - (row_index + 1) * cell
                        pdf.rect(x, y, cell, cell, stroke=0, fill=1)
    pdf.showPage()
    pdf.save()
    return path


def write_png(items: Sequence[object], path: Path, dpi: int = 150) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    scale = dpi / 72.0
    image = Image.new("RGB", (round(PAGE_WIDTH * scale), round(PAGE_HEIGHT * scale)), WHITE)
    draw = ImageDraw.Draw(image)
    fonts = {}
    for item in items:
        if isinstance(item, Box) and item.height > 0:
            draw.rectangle(
                [item.x * scale, item.top * scale, (item.x + item.width) * scale - 1, (item.top + item.height) * scale - 1],
                fill=item.color,
            )
        elif isinstance(item, Text):
            key = (item.bold, item.size)
            if key not in fonts:
                fonts[key] = ImageFont.truetype(_font_path(item.bold), round(item.size * scale))
            draw.text((item.x * scale, item.baseline * scale), item.text, font=fonts[key], fill=item.color, anchor="ls")
        elif isinstance(item, QrCode):
            count = len(item.modules)
            matrix = Image.new("L", (count, count), 255)
            matrix.putdata([0 if dark else 255 for row in item.modules for dark in row])
            side = round(item.size * scale)
            image.paste(matrix.resize((side, side), Image.NEAREST).convert("RGB"),
                        (round(item.x * scale), round(item.top * scale)))
    image.save(path, "PNG", dpi=(dpi, dpi))
    return path


def write_poster(details: EventDetails, entry: EntryPoints, out_dir: Path, dpi: int = 150) -> Tuple[Path, Path]:
    """Write ``poster-<CODE>.pdf`` and ``poster-<CODE>.png`` into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    items = layout(details, entry)
    check_fits(items)
    stem = f"poster-{details.code}"
    pdf = write_pdf(items, out_dir / f"{stem}.pdf", title=f"SapaLapor: {details.name}")
    png = write_png(items, out_dir / f"{stem}.png", dpi=dpi)
    return pdf, png
