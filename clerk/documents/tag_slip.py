"""The tag slip: a small PDF handed to the applicant (tag, service, time, people ahead, estimated
wait, a Code128 barcode of the tag). Headings in Chinese, Portuguese and English, whatever the
language of the clerk who printed it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from clerk.documents.barcode import MM, code128_width, draw_code128
from clerk.documents.fonts import register_cjk_font

PAGE_WIDTH = 80 * MM  # a receipt-roll width; CUPS scales it onto the configured media
PAGE_HEIGHT = 120 * MM
MARGIN = 5 * MM

# (Chinese, Portuguese, English): printed in all three, so not through the clerk's catalog.
LABELS = {
    "ticket": ("輪候籌號", "Senha", "Ticket"),
    "service": ("服務", "Serviço", "Service"),
    "issued": ("取籌時間", "Hora", "Issued"),
    "ahead": ("前面輪候人數", "Pessoas à frente", "People ahead"),
    "wait": ("預計等候時間", "Espera estimada", "Estimated wait"),
    "appointment": ("預約編號", "Marcação", "Appointment"),
    "watch": (
        "請留意叫號屏幕",
        "Aguarde a chamada no ecrã",
        "Please watch the display board",
    ),
}


@dataclass(frozen=True)
class SlipData:
    tag: str
    service_code: str
    service_names: tuple[str, str, str]  # (Chinese, Portuguese, English)
    office_names: tuple[str, str, str]
    issued_local: datetime  # the office's local time
    ahead: int
    wait_minutes: int | None  # None: not known (no counter serves the service now)
    booking_code: str = ""
    slot: str = ""


def _label(key: str) -> str:
    return " · ".join(part for part in LABELS[key] if part)


def _wait_text(minutes: int | None) -> str:
    if minutes is None:
        return "—"
    if minutes < 1:
        return "< 1 分鐘 · min"
    return f"約 {minutes} 分鐘 · ~{minutes} min"


def _face(text: str, cjk: str) -> str:
    """Helvetica for Latin-1 text (crisper Portuguese and English), else the CJK font."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return cjk
    return "Helvetica"


def render_tag_slip(data: SlipData) -> bytes:
    """The slip as PDF bytes."""
    from reportlab.pdfgen.canvas import Canvas

    cjk = register_cjk_font()
    out = io.BytesIO()
    c = Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
    c.setTitle(f"{data.tag} {data.issued_local:%Y-%m-%d %H:%M}")
    c.setAuthor(data.office_names[2] or data.office_names[0])
    centre = PAGE_WIDTH / 2
    y = PAGE_HEIGHT - MARGIN

    def line(text: str, size: float, gap: float = 1.2 * MM, face: str | None = None) -> None:
        nonlocal y
        y -= size
        c.setFont(face or _face(text, cjk), size)
        c.drawCentredString(centre, y, text)
        y -= gap

    for name in data.office_names:
        if name:
            line(name, 7, 0.3 * MM)
    y -= 1.5 * MM
    line(_label("ticket"), 9, 0)
    line(data.tag, 46, 1.5 * MM, "Helvetica-Bold")
    line(f"{data.service_code} · {data.service_names[0]}", 10, 0.6 * MM)
    for name in data.service_names[1:]:
        if name:
            line(name, 8, 0.6 * MM)
    y -= 1.5 * MM
    rows = [
        (_label("issued"), f"{data.issued_local:%Y-%m-%d %H:%M}"),
        (_label("ahead"), str(data.ahead)),
        (_label("wait"), _wait_text(data.wait_minutes)),
    ]
    if data.booking_code:
        rows.append((_label("appointment"), f"{data.booking_code} {data.slot}".strip()))
    for label, value in rows:
        line(label, 6.5, 0.6 * MM)
        line(value, 10, 1.5 * MM)
    width = code128_width(data.tag)
    draw_code128(c, data.tag, centre - width / 2, MARGIN + 9 * MM, height=12 * MM)
    y = MARGIN + 9 * MM - 1 * MM
    for text in LABELS["watch"]:
        line(text, 6.5, 0.3 * MM)
    c.showPage()
    c.save()
    return out.getvalue()
