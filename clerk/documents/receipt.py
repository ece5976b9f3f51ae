"""The A5 receipt handed to the applicant, who brings it back to collect the card.

Trilingual whatever the clerk's language (收據 / Recibo / Receipt): the applicant's names in
Chinese and Latin script, the ID number partly masked, case and service level, each fee line and
the total in MOP, the tenders and the change, clerk, counter, date and time (the office's time
zone), the promised collection date and where to collect, the Code128 barcode of the receipt
number drawn as vector bars with the number under it, and the authorisation the applicant fills
in to let a representative collect. A reprint says COPY / 副本 / 2.ª VIA; a void or refunded
receipt carries the stamp across the page.

The Chinese name is checked against the embedded font first (`missing_glyphs`): a character the
font cannot draw would print blank, so it prints as 〓 and the Latin name is printed large.
Receives plain data only (never a database session).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from clerk.documents.barcode import MM, code128_width, draw_code128
from clerk.documents.fonts import missing_glyphs, register_cjk_font

PAGE_WIDTH = 148 * MM  # A5 portrait
PAGE_HEIGHT = 210 * MM
MARGIN = 11 * MM
KEY_WIDTH = 36 * MM
MISSING_MARK = "〓"  # the printer's substitute for a character the font lacks

# (Chinese, Portuguese, English): printed in all three, whatever the clerk's language.
LABELS = {
    "receipt": ("收據", "Recibo", "Receipt"),
    "copy": ("副本", "2.ª VIA", "COPY"),
    "void": ("作廢", "ANULADO", "VOID"),
    "refunded": ("已退款", "REEMBOLSADO", "REFUNDED"),
    "number": ("收據編號", "N.º do recibo", "Receipt no."),
    "application": ("申請編號", "N.º do pedido", "Application no."),
    "name": ("姓名", "Nome", "Name"),
    "id_number": ("身份證編號", "N.º do BIR", "ID card no."),
    "case": ("申請類別", "Tipo de pedido", "Case"),
    "service": ("服務類別", "Serviço", "Service"),
    "fees": ("費用", "Taxas", "Fees"),
    "total": ("總額", "Total", "Total"),
    "paid_by": ("付款方式", "Pagamento", "Paid by"),
    "tendered": ("已收", "Entregue", "Tendered"),
    "change": ("找續", "Troco", "Change"),
    "reference": ("參考編號", "Ref.", "Ref."),
    "no_payment": ("豁免，無須付款", "Isento, nada a pagar", "Exempt, nothing to pay"),
    "clerk": ("經辦人", "Funcionário", "Clerk"),
    "counter": ("櫃檯", "Balcão", "Counter"),
    "issued": ("日期及時間", "Data e hora", "Date and time"),
    "collect_on": ("領取日期", "Data de levantamento", "Collect from"),
    "collect_at": ("領取地點", "Local de levantamento", "Collect at"),
    "collect_how": (
        "請於證件領取櫃檯或自助服務機掃描此條碼",
        "Leia este código de barras no balcão de levantamento ou no quiosque",
        "Scan this barcode at the document collection counter or kiosk",
    ),
    "bring_card": (
        "領取時須核實身份並交回舊身份證以作註銷",
        "No levantamento: identificação e entrega do BIR antigo para cancelar",
        "At collection: proof of identity; bring the former card to be cancelled",
    ),
    "authorisation": ("授權書", "Autorização", "Authorisation"),
    "authorise": (
        "本人授權下列人士代為領取本人的證件。",
        "Autorizo a pessoa abaixo indicada a levantar o meu documento.",
        "I authorise the person below to collect my document.",
    ),
    "rep_name": ("受託人姓名", "Nome do representante", "Representative's name"),
    "rep_id": (
        "受託人身份證明文件編號",
        "N.º do documento do representante",
        "Representative's ID no.",
    ),
    "signature": (
        "申請人簽名（須與身份證上的簽名相同）",
        "Assinatura do requerente (igual à do BIR)",
        "Applicant's signature (as on the identity card)",
    ),
    "date": ("日期", "Data", "Date"),
    "glyph_note": (
        "（中文姓名有字元無法列印，請以外文姓名為準）",
        "(caracteres do nome chinês não impressos: vale o nome em letras latinas)",
        "(some Chinese characters could not be printed: the Latin name prevails)",
    ),
}
CASES = {
    "renewal": ("續期換領", "Renovação", "Renewal"),
    "loss": ("遺失補領", "Perda", "Loss"),
    "damage": ("損毀換領", "Dano", "Damage"),
    "data-change": ("資料更改", "Alteração de dados", "Data change"),
    "to-permanent": ("轉為永久性居民", "Passagem a permanente", "To permanent"),
    "foreign-permanent-renewal": (
        "外籍永久性居民換證",
        "Renovação de permanente estrangeiro",
        "Foreign permanent renewal",
    ),
    "former-card-replacement": (
        "換領舊式身份證",
        "Substituição do antigo BIR",
        "Former card replacement",
    ),
    "director-request": ("局長批准換證", "Pedido ao director", "Director's approval"),
}
SERVICES = {
    "normal": ("普通服務", "Normal", "Normal"),
    "express": ("快速服務", "Rápido", "Express"),
    "special-express": ("特快服務", "Especial rápido", "Special express"),
}
WEEKDAYS = (
    ("一", "segunda", "Mon"),
    ("二", "terça", "Tue"),
    ("三", "quarta", "Wed"),
    ("四", "quinta", "Thu"),
    ("五", "sexta", "Fri"),
    ("六", "sábado", "Sat"),
    ("日", "domingo", "Sun"),
)


@dataclass(frozen=True)
class ReceiptLine:
    labels: tuple[str, str, str]  # (Chinese, Portuguese, English)
    amount_avos: int
    waived: bool = False  # the exemption's waiver line


@dataclass(frozen=True)
class ReceiptTender:
    labels: tuple[str, str, str]
    amount_avos: int
    tendered_avos: int | None = None  # cash handed over
    reference: str = ""  # the terminal's reference


@dataclass(frozen=True)
class ReceiptData:
    number: str
    status: str  # valid | void | refunded
    office_names: tuple[str, str, str]
    collection_address: str
    application_number: str
    name_zh: str
    name_latin: str
    id_number: str
    case: str
    service_level: str
    lines: tuple[ReceiptLine, ...]
    total_avos: int
    tenders: tuple[ReceiptTender, ...]
    change_avos: int
    clerk: str
    counter: int | None
    issued_local: datetime  # the office's local time
    promised_on: date | None


# --- shared with the Z report -------------------------------------------------------------------


def money(avos: int) -> str:
    """`MOP 1,090.00` (the thousands separator helps the eye on paper)."""
    sign = "-" if avos < 0 else ""
    patacas, cents = divmod(abs(avos), 100)
    return f"MOP {sign}{patacas:,}.{cents:02d}"


def joined(parts: Iterable[str], sep: str = " · ") -> str:
    return sep.join(part for part in parts if part)


def label(key: str) -> str:
    return joined(LABELS[key])


# the characters Helvetica draws (Windows-1252, as reportlab's standard fonts encode them)
_CP1252 = "".join(
    ch for ch in bytes(range(32, 256)).decode("cp1252", errors="ignore") if ch.isprintable()
)
_RUNS = re.compile(f"([{re.escape(_CP1252)}]+)")


@lru_cache(maxsize=4096)
def runs(text: str) -> tuple[tuple[bool, str], ...]:
    """`text` cut into runs of Windows-1252 characters (True) and others (False)."""
    return tuple((i % 2 == 1, part) for i, part in enumerate(_RUNS.split(text)) if part)


@lru_cache(maxsize=4096)
def _width(text: str, size: float, bold: bool, cjk: str) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return sum(stringWidth(part, _face(latin, bold, cjk), size) for latin, part in runs(text))


def _face(latin: bool, bold: bool, cjk: str) -> str:
    if latin:
        return "Helvetica-Bold" if bold else "Helvetica"
    return cjk


class Sheet:
    """A canvas with a baseline cursor moving down the page. Latin-1 runs are set in Helvetica
    (crisper), the others in the embedded CJK font, so mixed text reads well."""

    def __init__(
        self, canvas, width: float, height: float, margin: float, squeeze: float = 1.0
    ) -> None:
        self.c = canvas
        self.width, self.height, self.margin = width, height, margin
        self.cjk = register_cjk_font()
        self.y = height - margin
        self.left = margin
        self.right = width - margin
        self.squeeze = squeeze  # < 1 tightens the gaps between lines (never the text)
        self.gaps = 0.0  # the gaps so far, before squeezing
        self.text = canvas.beginText()  # all text goes into one text object (fast)
        self.font: tuple[str, float] | None = None

    def finish(self) -> None:
        """Draw the text collected so far (call before a transform and at the end)."""
        self.c.drawText(self.text)
        self.text = self.c.beginText()
        self.font = None

    def width_of(self, text: str, size: float, bold: bool = False) -> float:
        return _width(text, size, bold, self.cjk)

    def put(
        self, x: float, text: str, size: float, *, bold: bool = False, align: str = "left"
    ) -> None:
        """Draw `text` on the current baseline, starting, ending or centred at `x`."""
        if align != "left":
            width = self.width_of(text, size, bold)
            x -= width if align == "right" else width / 2
        self.text.setTextOrigin(x, self.y)
        for latin, part in runs(text):
            font = (_face(latin, bold, self.cjk), size)
            if font != self.font:
                self.text.setFont(*font)
                self.font = font
            self.text.textOut(part)

    def down(self, gap: float) -> None:
        """Move down by a gap (tightened by `squeeze`)."""
        self.gaps += gap
        self.y -= gap * self.squeeze

    def advance(self, size: float) -> None:
        """Move down by the height of a line of text of `size` points."""
        self.y -= size

    def line(
        self,
        text: str,
        size: float,
        *,
        x: float | None = None,
        bold: bool = False,
        align: str = "left",
        gap: float = 1.0 * MM,
    ) -> None:
        """Move down by `size`, draw, then move down by `gap`."""
        self.advance(size)
        self.put(self.left if x is None else x, text, size, bold=bold, align=align)
        self.down(gap)

    def fit(self, text: str, size: float, room: float, minimum: float = 4.5) -> float:
        """The largest size ≤ `size` (in quarter points) at which `text` fits in `room` points."""
        width = self.width_of(text, size)
        if width <= room:
            return size
        return max(minimum, int(size * room / width * 4) / 4)

    def rule(self, gap: float = 1.5 * MM, weight: float = 0.4) -> None:
        self.down(gap)
        self.c.setLineWidth(weight)
        self.c.line(self.left, self.y, self.right, self.y)
        self.down(gap)

    def caption(self, x: float, key: str, room: float) -> None:
        """A trilingual label in two small lines: Chinese, then Portuguese · English."""
        zh, pt, en = LABELS[key]
        save = self.y
        self.put(x, zh, 6.5)
        self.y -= 6.5
        self.put(x, joined((pt, en)), self.fit(joined((pt, en)), 5.5, room))
        self.y = save

    def key_value(
        self,
        key: str,
        value: str,
        size: float = 10,
        *,
        x: float | None = None,
        width: float | None = None,
        key_width: float = KEY_WIDTH,
    ) -> None:
        """A labelled value on one row (the label's first line on the value's baseline)."""
        x = self.left if x is None else x
        width = (self.right - x) if width is None else width
        self.advance(max(size, 12))
        self.put(x + key_width, value, self.fit(value, size, width - key_width))
        self.caption(x, key, key_width - 1 * MM)
        self.down(2.2 * MM)


# --- the receipt --------------------------------------------------------------------------------


def mask_id_number(id_number: str) -> str:
    """`1234567(3)` → `1234***(3)`: enough to recognise, not enough to misuse."""
    found = re.fullmatch(r"([A-Za-z]?\d+)(\(\w\))?", id_number.strip())
    if not found:
        text = id_number.strip()
        return text[:2] + "*" * max(0, len(text) - 3) + text[-1:] if len(text) > 3 else "***"
    body, check = found.group(1), found.group(2) or ""
    keep = min(4, max(1, len(body) - 3))
    return body[:keep] + "*" * (len(body) - keep) + check


def printable_name(name_zh: str, font: str | None = None) -> tuple[str, set[str]]:
    """The Chinese name with the characters the font lacks replaced by 〓, and those characters."""
    missing = missing_glyphs(name_zh, font) if name_zh else set()
    return "".join(MISSING_MARK if ch in missing else ch for ch in name_zh), missing


def receipt_warnings(data: ReceiptData) -> list[str]:
    """What the clerk must know before handing the receipt over (English; the screen
    translates its own message from the characters)."""
    _name, missing = printable_name(data.name_zh)
    if not missing:
        return []
    chars = " ".join(sorted(missing))
    return [
        f"the printer font has no glyph for {chars} in the Chinese name: it prints as "
        f"{MISSING_MARK} and the Latin name is printed large; check the name with the applicant"
    ]


def _weekday(day: date) -> str:
    zh, pt, en = WEEKDAYS[day.weekday()]
    return f"{day.isoformat()} (星期{zh} · {pt} · {en})"


def _choice(table: dict[str, tuple[str, str, str]], code: str) -> str:
    return joined(table.get(code, (code, "", "")), " / ")


def _stamp(sheet: Sheet, text: str) -> None:
    c = sheet.c
    sheet.finish()
    c.saveState()
    c.setFillColorRGB(0.75, 0.1, 0.1)
    c.setFillAlpha(0.35)
    c.translate(sheet.width / 2, sheet.height / 2)
    c.rotate(35)
    saved, sheet.y = sheet.y, 0
    sheet.put(0, text, sheet.fit(text, 44, sheet.width * 1.05, 16), bold=True, align="centre")
    sheet.finish()
    sheet.y = saved
    c.restoreState()


def _header(sheet: Sheet, data: ReceiptData, copy: bool) -> None:
    top = sheet.y
    for name in data.office_names:
        if name:
            sheet.line(name, 7, gap=0.5 * MM)
    if copy:
        text = joined(LABELS["copy"])
        size = 11
        box = sheet.width_of(text, size, bold=True) + 4 * MM
        sheet.c.setLineWidth(1.4)
        sheet.c.rect(sheet.right - box, top - size - 2.5 * MM, box, size + 2.5 * MM)
        saved, sheet.y = sheet.y, top - size - 0.6 * MM
        sheet.put(sheet.right - 2 * MM, text, size, bold=True, align="right")
        sheet.y = saved
    sheet.down(1.5 * MM)
    block = sheet.y
    sheet.line(joined(LABELS["receipt"], "  "), 17, bold=True, gap=2.0 * MM)
    sheet.line(label("number"), 6, gap=0.6 * MM)
    sheet.line(data.number, 14, bold=True, gap=0)
    # the barcode at the right of the title block, the number printed under it
    width = code128_width(data.number)
    bar_x = sheet.right - width + 3.3 * MM  # the quiet zone may reach into the margin
    bar_bottom = block - 13 * MM
    draw_code128(sheet.c, data.number, bar_x, bar_bottom, height=12 * MM)
    spaced = f"{data.number[:2]} {data.number[2:8]} {data.number[8:12]} {data.number[12:]}"
    saved, sheet.y = sheet.y, bar_bottom - 9
    sheet.put(bar_x + width / 2, spaced, 9, bold=True, align="centre")
    sheet.y = min(saved, sheet.y)


def _applicant(sheet: Sheet, data: ReceiptData) -> None:
    sheet.rule(1.6 * MM)
    sheet.key_value("application", data.application_number or "—")
    name_zh, missing = printable_name(data.name_zh)
    if missing:
        sheet.key_value("name", data.name_latin or "—", size=15)
        zh, pt, en = LABELS["glyph_note"]
        sheet.line(f"{name_zh}  {zh}", 8, x=sheet.left + KEY_WIDTH, gap=0.5 * MM)
        note = f"{pt} {en}"
        sheet.line(note, sheet.fit(note, 6, sheet.right - sheet.left), gap=1.6 * MM)
    elif name_zh:
        sheet.key_value("name", joined((name_zh, data.name_latin), "   "), size=13)
    else:
        sheet.key_value("name", data.name_latin or "—", size=12)
    sheet.key_value("id_number", mask_id_number(data.id_number) if data.id_number else "—")
    half = (sheet.right - sheet.left) / 2
    row = sheet.y
    sheet.key_value("case", _choice(CASES, data.case), 8, width=half - 2 * MM, key_width=24 * MM)
    sheet.y = row
    sheet.key_value(
        "service", _choice(SERVICES, data.service_level), 8, x=sheet.left + half, key_width=20 * MM
    )


def _fees(sheet: Sheet, data: ReceiptData) -> None:
    sheet.rule(1.0 * MM)
    sheet.line(label("fees"), 7, bold=True, gap=1.2 * MM)
    room = sheet.right - sheet.left - 32 * MM
    for item in data.lines:
        zh, pt, en = item.labels
        sheet.advance(9)
        first = sheet.fit(zh or en, 9, room)
        sheet.put(sheet.left, zh or en, first)
        sheet.put(sheet.right, money(item.amount_avos), 9, align="right")
        latin = joined((pt, en), " / ")
        beside = room - sheet.width_of(zh or en, first) - 3 * MM
        if sheet.width_of(latin, 6.5) <= beside:  # on the same line when it fits
            sheet.put(sheet.right - 32 * MM - beside, latin, 6.5)
            sheet.down(2.2 * MM)
        else:
            sheet.line(latin, sheet.fit(latin, 6, room), gap=1.4 * MM)
    sheet.c.setLineWidth(0.8)
    sheet.c.line(sheet.right - 45 * MM, sheet.y, sheet.right, sheet.y)
    sheet.advance(13)
    sheet.put(sheet.left, joined(LABELS["total"], " · "), 10, bold=True)
    sheet.put(sheet.right, money(data.total_avos), 13, bold=True, align="right")


def _tenders(sheet: Sheet, data: ReceiptData) -> None:
    sheet.rule(1.6 * MM)
    if not data.tenders:
        sheet.line(joined(LABELS["no_payment"]), 8)
        return
    sheet.line(label("paid_by"), 7, bold=True, gap=1.2 * MM)
    for tender in data.tenders:
        sheet.advance(9)
        sheet.put(sheet.left, joined(tender.labels, " / "), 8.5)
        if tender.tendered_avos is not None:
            detail = f"{label('tendered')}  {money(tender.tendered_avos)}"
        else:
            detail = f"{label('reference')}  {tender.reference}" if tender.reference else ""
        sheet.put(sheet.left + 62 * MM, detail, 7)
        sheet.put(sheet.right, money(tender.amount_avos), 9, align="right")
        sheet.down(1.6 * MM)
    if any(t.tendered_avos is not None for t in data.tenders):
        sheet.advance(9)
        sheet.put(sheet.left, joined(LABELS["change"], " · "), 9, bold=True)
        sheet.put(sheet.right, money(data.change_avos), 10, bold=True, align="right")


def _desk(sheet: Sheet, data: ReceiptData) -> None:
    sheet.rule(1.6 * MM)
    half = (sheet.right - sheet.left) / 2
    counter = f"{joined(LABELS['counter'], ' ')} {data.counter}" if data.counter else ""
    who = joined((data.clerk, counter), " · ")
    row = sheet.y
    sheet.key_value("clerk", who, 8.5, width=half + 6 * MM, key_width=20 * MM)
    sheet.y = row
    when = f"{data.issued_local:%Y-%m-%d %H:%M}"
    sheet.key_value("issued", when, 9, x=sheet.left + half + 8 * MM, key_width=24 * MM)


def _collection(sheet: Sheet, data: ReceiptData) -> None:
    sheet.rule(0.4 * MM)
    promised = _weekday(data.promised_on) if data.promised_on else "—"
    sheet.key_value("collect_on", promised, size=11)
    office = joined((data.office_names[0] or data.office_names[2], data.office_names[1]), " / ")
    sheet.key_value("collect_at", office, size=8)
    if data.collection_address:
        sheet.line(data.collection_address, 7, x=sheet.left + KEY_WIDTH, gap=1.2 * MM)
    for key in ("collect_how", "bring_card"):
        zh, pt, en = LABELS[key]
        sheet.line(zh, 6.5, gap=0.6 * MM)
        text = f"{pt} · {en}"
        sheet.line(text, sheet.fit(text, 6, sheet.right - sheet.left), gap=1.0 * MM)


AUTH_BOX_HEIGHT = 36 * MM


def _authorisation(sheet: Sheet) -> None:
    """The form the applicant fills in to let a representative collect, at the foot."""
    c = sheet.c
    sheet.squeeze = 1.0
    box_top = sheet.margin + AUTH_BOX_HEIGHT
    sheet.y = box_top - 0.5 * MM
    c.setDash(3, 2)
    c.setLineWidth(0.6)
    c.rect(sheet.left, sheet.margin, sheet.right - sheet.left, AUTH_BOX_HEIGHT)
    c.setDash()
    inner = sheet.left + 2.5 * MM
    sheet.line(joined(LABELS["authorisation"], "  "), 10, x=inner, bold=True, gap=1.0 * MM)
    zh, pt, en = LABELS["authorise"]
    text = f"{zh}  {pt} {en}"
    sheet.line(text, sheet.fit(text, 6.5, sheet.right - inner - 2 * MM), x=inner, gap=0)
    c.setLineWidth(0.5)
    for key, rule_end in (
        ("rep_name", sheet.right - 3 * MM),
        ("rep_id", sheet.right - 3 * MM),
        ("signature", sheet.right - 3 * MM),
        ("date", inner + 100 * MM),
    ):
        sheet.advance(6.2 * MM)
        c.line(inner + 58 * MM, sheet.y, rule_end, sheet.y)
        sheet.caption(inner, key, 56 * MM)


class _GlyphTable:
    """The font's `glyf` table, sliced on demand from the font file's bytes."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def __getitem__(self, part: slice) -> bytes:
        return self.data[self.pos + part.start : self.pos + part.stop]


@lru_cache(maxsize=4)
def _fast_subsets(font_name: str) -> None:
    """Let reportlab subset the CJK font without copying its 17 MB `glyf` table each time.

    `TTFontFile.makeSubset` only slices single glyphs out of `get_table("glyf")`; handing it a
    view instead of a copy makes the same bytes (a test compares them) ~2–4 ms faster per
    receipt. Applied once to the registered face (tag slips gain too).
    """
    from reportlab.pdfbase import pdfmetrics

    face = pdfmetrics.getFont(font_name).face
    plain = face.get_table

    def get_table(tag: str):
        if tag == "glyf":
            return _GlyphTable(face._ttf_data, face.get_table_pos("glyf")[0])
        return plain(tag)

    if hasattr(face, "_ttf_data") and hasattr(face, "get_table_pos"):
        face.get_table = get_table


class _Probe:
    """A canvas that draws nothing: the layout runs on it once to measure its height."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self


def _content(sheet: Sheet, data: ReceiptData, copy: bool) -> None:
    _header(sheet, data, copy)
    _applicant(sheet, data)
    _fees(sheet, data)
    _tenders(sheet, data)
    _desk(sheet, data)
    _collection(sheet, data)


def _squeeze(data: ReceiptData, copy: bool) -> float:
    """How much to tighten the gaps so that the content ends above the authorisation box."""
    probe = Sheet(_Probe(), PAGE_WIDTH, PAGE_HEIGHT, MARGIN)
    _content(probe, data, copy)
    room = probe.y - (MARGIN + AUTH_BOX_HEIGHT + 1.5 * MM)
    if room >= 0 or probe.gaps <= 0:
        return 1.0
    return max(0.2, 1 + room / probe.gaps)


def content_bottom(data: ReceiptData, copy: bool = False) -> tuple[float, float]:
    """(where the content ends, the top of the authorisation box), in points from the foot."""
    probe = Sheet(_Probe(), PAGE_WIDTH, PAGE_HEIGHT, MARGIN, _squeeze(data, copy))
    _content(probe, data, copy)
    return probe.y, MARGIN + AUTH_BOX_HEIGHT


def render_receipt(data: ReceiptData, *, copy: bool = False) -> bytes:
    """The receipt as PDF bytes (one A5 page)."""
    from reportlab.pdfgen.canvas import Canvas

    _fast_subsets(register_cjk_font())
    out = io.BytesIO()
    c = Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1)
    c.setTitle(f"{LABELS['receipt'][2]} {data.number}")
    c.setAuthor(data.office_names[2] or data.office_names[0])
    c.setSubject(data.application_number)
    sheet = Sheet(c, PAGE_WIDTH, PAGE_HEIGHT, MARGIN, _squeeze(data, copy))
    _content(sheet, data, copy)
    _authorisation(sheet)
    sheet.finish()
    if data.status in ("void", "refunded"):
        _stamp(sheet, joined(LABELS[data.status]))
    c.showPage()
    save_pdf(c)
    return out.getvalue()


_SAVING = threading.Lock()


def save_pdf(canvas) -> None:
    """Save without ASCII85 on the streams (binary PDF: smaller and faster to write). One at a
    time: the font's subsetting keeps a read position, and rl_config is global."""
    from reportlab import rl_config

    with _SAVING:
        saved = rl_config.useA85
        rl_config.useA85 = 0
        try:
            canvas.save()
        finally:
            rl_config.useA85 = saved
