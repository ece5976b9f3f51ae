"""The Z report of a drawer session: the blind count by denomination, the expected amounts by
tender, the variance and who acknowledged it, the cash moved in and out, and every receipt the
session took or reversed. A5 pages like the receipt (the desk printer's media), trilingual
headings, the newest audit hash at the foot (a truncated audit trail shows against it).
Receives plain data only (never a database session).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from clerk.documents.barcode import MM
from clerk.documents.receipt import MARGIN, PAGE_HEIGHT, PAGE_WIDTH, Sheet, joined, money, save_pdf

TITLES = {
    "z": ("Z 報告（收銀結算）", "Relatório Z (fecho de caixa)", "Z report (drawer close)"),
    "session": ("收銀時段", "Sessão de caixa", "Drawer session"),
    "clerk": ("經辦人", "Funcionário", "Clerk"),
    "opened": ("開始", "Aberta", "Opened"),
    "counted": ("點算", "Contada", "Counted"),
    "closed": ("結束", "Fechada", "Closed"),
    "float": ("備用金", "Fundo de maneio", "Float"),
    "movements": ("現金存取", "Entradas e saídas de numerário", "Cash in and out"),
    "count": ("點算（按面額）", "Contagem por valor facial", "Count by denomination"),
    "note": ("紙幣", "Nota", "Note"),
    "coin": ("硬幣", "Moeda", "Coin"),
    "counted_total": ("點算現金總額", "Numerário contado", "Cash counted"),
    "expected": ("應有金額（按付款方式）", "Montantes esperados por meio", "Expected by tender"),
    "expected_cash": ("應有現金", "Numerário esperado", "Cash expected"),
    "variance": ("差額", "Diferença", "Variance"),
    "threshold": ("須主管確認的差額上限", "Limite sem supervisor", "Threshold"),
    "acknowledged": ("主管確認", "Confirmado pelo supervisor", "Acknowledged by"),
    "awaiting": ("待主管確認", "Aguarda o supervisor", "Awaiting a supervisor"),
    "receipts": ("收據", "Recibos", "Receipts"),
    "reversal": ("沖銷", "Estorno", "Reversal"),
    "audit": ("審計鏈最新雜湊值", "Último hash da auditoria", "Audit chain head"),
    "page": ("頁", "Página", "Page"),
}
STATUS = {
    "valid": ("有效", "válido", "valid"),
    "void": ("作廢", "anulado", "void"),
    "refunded": ("已退款", "reembolsado", "refunded"),
}


@dataclass(frozen=True)
class MovementLine:
    kind: str  # in | out
    amount_avos: int
    reason: str
    at_local: datetime


@dataclass(frozen=True)
class CountLine:
    kind: str  # note | coin
    denomination: str  # "1000", "0.50"
    pieces: int
    amount_avos: int


@dataclass(frozen=True)
class TenderTotal:
    labels: tuple[str, str, str]  # (Chinese, Portuguese, English)
    amount_avos: int


@dataclass(frozen=True)
class ReceiptSummary:
    kind: str  # payment | reversal
    number: str
    status: str  # the receipt's status now
    amount_avos: int


@dataclass(frozen=True)
class ZReportData:
    office_names: tuple[str, str, str]
    session_id: int
    clerk: str
    counter: int | None
    day: date
    opened_local: datetime
    counted_local: datetime | None
    closed_local: datetime | None
    status: str  # counted | closed
    float_avos: int
    movements: tuple[MovementLine, ...]
    counts: tuple[CountLine, ...]
    counted_avos: int
    tenders: tuple[TenderTotal, ...]
    expected_cash_avos: int
    variance_avos: int
    threshold_avos: int
    acknowledged_by: str
    acknowledgement_reason: str
    receipts: tuple[ReceiptSummary, ...]
    audit_head: str


def title(key: str) -> str:
    return joined(TITLES[key])


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


class _Pages(Sheet):
    """The sheet, with a new page when the next row would not fit."""

    def __init__(self, canvas, data: ZReportData):
        super().__init__(canvas, PAGE_WIDTH, PAGE_HEIGHT, MARGIN)
        self.data = data
        self.page = 1

    def need(self, points: float) -> None:
        if self.y - points >= self.margin + 8 * MM:
            return
        self.foot()
        self.finish()
        self.c.showPage()
        self.page += 1
        self.y = self.height - self.margin
        self.line(f"{title('z')} · #{self.data.session_id}", 8, bold=True, gap=2 * MM)

    def foot(self) -> None:
        saved, self.y = self.y, self.margin
        label = f"{joined(TITLES['page'], ' ')} {self.page}"
        self.put(self.right, label, 6.5, align="right")
        self.put(self.left, f"{joined(TITLES['audit'], ' ')}: {self.data.audit_head[:32]}", 6)
        self.y = saved

    def row(self, left: str, right: str, size: float = 8.5, bold: bool = False) -> None:
        self.need(size + 2 * MM)
        self.advance(size)
        self.put(self.left, left, self.fit(left, size, self.right - self.left - 35 * MM))
        self.put(self.right, right, size, bold=bold, align="right")
        self.down(1.2 * MM)

    def heading(self, key: str) -> None:
        self.need(20)
        self.rule(1.4 * MM)
        self.line(title(key), 8, bold=True, gap=1.2 * MM)


def _summary(sheet: _Pages, data: ZReportData) -> None:
    for name in data.office_names:
        if name:
            sheet.line(name, 7, gap=0.4 * MM)
    sheet.down(1.5 * MM)
    heading = title("z")
    sheet.line(heading, sheet.fit(heading, 14, sheet.right - sheet.left), bold=True, gap=2 * MM)
    counter = f" · {data.counter}" if data.counter else ""
    sheet.row(f"{title('session')} #{data.session_id}", data.day.isoformat(), 9, bold=True)
    sheet.row(title("clerk"), f"{data.clerk}{counter}")
    sheet.row(title("opened"), _when(data.opened_local))
    sheet.row(title("counted"), _when(data.counted_local))
    sheet.row(title("closed"), _when(data.closed_local))
    sheet.row(title("float"), money(data.float_avos))


def _count(sheet: _Pages, data: ZReportData) -> None:
    sheet.heading("count")
    for line in data.counts:
        kind = joined(TITLES[line.kind], " ")
        sheet.row(f"{kind}  MOP {line.denomination} × {line.pieces}", money(line.amount_avos), 8)
    sheet.row(title("counted_total"), money(data.counted_avos), 9.5, bold=True)


def _expected(sheet: _Pages, data: ZReportData) -> None:
    sheet.heading("expected")
    for tender in data.tenders:
        sheet.row(joined(tender.labels, " / "), money(tender.amount_avos))
    sheet.row(title("expected_cash"), money(data.expected_cash_avos), 9.5, bold=True)
    sheet.row(title("variance"), money(data.variance_avos), 11, bold=True)
    sheet.row(title("threshold"), money(data.threshold_avos), 7.5)
    if data.acknowledged_by:
        sheet.row(title("acknowledged"), data.acknowledged_by, 8.5)
        if data.acknowledgement_reason:
            sheet.row(f"  {data.acknowledgement_reason}", "", 7.5)
    elif data.status == "counted":
        sheet.row(title("awaiting"), "", 9, bold=True)


def _movements(sheet: _Pages, data: ZReportData) -> None:
    sheet.heading("movements")
    if not data.movements:
        sheet.row("—", "")
    for m in data.movements:
        sign = 1 if m.kind == "in" else -1
        sheet.row(f"{m.at_local:%H:%M}  {m.kind.upper()}  {m.reason}", money(sign * m.amount_avos))


def _receipts(sheet: _Pages, data: ZReportData) -> None:
    sheet.heading("receipts")
    if not data.receipts:
        sheet.row("—", "")
    for r in data.receipts:
        kind = f"  {joined(TITLES['reversal'], ' ')}" if r.kind == "reversal" else ""
        status = joined(STATUS.get(r.status, (r.status, "", "")), " ")
        sheet.row(f"{r.number}  {status}{kind}", money(r.amount_avos), 8)
    total = sum(r.amount_avos for r in data.receipts)
    sheet.row(title("receipts"), money(total), 9, bold=True)


def render_z_report(data: ZReportData) -> bytes:
    """The Z report as PDF bytes (A5, as many pages as the receipts need)."""
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1)
    c.setTitle(f"Z report {data.day.isoformat()} #{data.session_id}")
    c.setAuthor(data.office_names[2] or data.office_names[0])
    sheet = _Pages(c, data)
    _summary(sheet, data)
    _count(sheet, data)
    _expected(sheet, data)
    _movements(sheet, data)
    _receipts(sheet, data)
    sheet.foot()
    sheet.finish()
    c.showPage()
    save_pdf(c)
    return out.getvalue()
