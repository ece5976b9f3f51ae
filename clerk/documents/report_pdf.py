"""A report as an A4 PDF: the office's header on every page, trilingual headings (Chinese,
Portuguese, English), tables, bar charts drawn with reportlab's graphics, the page number, and on
the daily report the newest link of the audit chain at the end (its hash, printed in full, is what
`clerk audit verify --expect HASH` compares: a truncated audit trail shows against it).

Receives plain data only (`clerk.domain.reports.Report`); never opens a database session. Latin
runs are set in Helvetica, the others in the embedded CJK TrueType font (`clerk.documents.fonts`),
which keeps ToUnicode: the text, totals included, extracts back from the PDF.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from clerk.documents.fonts import register_cjk_font

if TYPE_CHECKING:
    from clerk.domain.reports import Chart, Report, Table

MM = 72 / 25.4
MARGIN = 14 * MM
HEADER_SPACE = 20 * MM
MAX_CHART_BARS = 62  # a chart wider than this shows every other label
BAR_COLOUR = (0.0, 0.53, 0.69)
TOTAL_SHADE = (0.92, 0.92, 0.92)
HEAD_SHADE = (0.85, 0.90, 0.94)


def _tri(text: tuple[str, str, str], sep: str = " · ") -> str:
    return sep.join(part for part in text if part)


LATIN = "Helvetica"


def _styles():
    from reportlab.lib.styles import ParagraphStyle

    bold = "Helvetica-Bold"
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=15, leading=19, spaceAfter=2),
        "meta": ParagraphStyle("meta", fontName=LATIN, fontSize=8, leading=10, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", fontName=bold, fontSize=10, leading=13, spaceBefore=8, spaceAfter=3
        ),
        "cell": ParagraphStyle("cell", fontName=LATIN, fontSize=7, leading=8.5),
        "head": ParagraphStyle("head", fontName=LATIN, fontSize=6.2, leading=7.2),
        "note": ParagraphStyle("note", fontName=LATIN, fontSize=7, leading=9, spaceBefore=2),
        "hash": ParagraphStyle("hash", fontName="Courier", fontSize=8, leading=10),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markup(text: str) -> str:
    """Paragraph markup of `text`: its non-Latin runs in the CJK font."""
    from clerk.documents.receipt import runs

    cjk = register_cjk_font()
    return "".join(
        _escape(part) if latin else f'<font name="{cjk}">{_escape(part)}</font>'
        for latin, part in runs(text)
    )


def _is_latin(text: str) -> bool:
    from clerk.documents.receipt import runs

    return all(latin for latin, _part in runs(text))


def _text_width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from clerk.documents.receipt import runs

    cjk = register_cjk_font()
    return sum(stringWidth(part, LATIN if latin else cjk, size) for latin, part in runs(text))


def _draw(canvas, x: float, y: float, text: str, size: float, *, right: bool = False) -> None:
    """Mixed text on the canvas (Latin runs in Helvetica, the others in the CJK font)."""
    from clerk.documents.receipt import runs

    cjk = register_cjk_font()
    if right:
        x -= _text_width(text, size)
    for latin, part in runs(text):
        face = LATIN if latin else cjk
        canvas.setFont(face, size)
        canvas.drawString(x, y, part)
        x += canvas.stringWidth(part, face, size)


def _table(table: Table, styles, width: float):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, TableStyle
    from reportlab.platypus import Table as Grid

    from clerk.domain.reports import cell_text

    numeric = [c.kind in ("int", "money", "seconds") for c in table.columns]
    head = [
        Paragraph("<br/>".join(_markup(t) for t in dict.fromkeys(c.title) if t), styles["head"])
        for c in table.columns
    ]
    body = [
        [_cell(cell_text(c, v), styles) for c, v in zip(table.columns, row, strict=True)]
        for row in table.rows
    ]
    if not body:
        body = [["—", *([""] * (len(table.columns) - 1))]]
    data = [head, *body]
    if table.total is not None and table.rows:
        total = [cell_text(c, v) for c, v in zip(table.columns, table.total, strict=True)]
        total[0] = total[0] or _tri(("合計", "Total", ""), " ")
        data.append([_cell(text, styles) for text in total])
    widths = _widths(table, data, width)
    grid = Grid(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("FONT", (0, 1), (-1, -1), LATIN, 7),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(*HEAD_SHADE)),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.grey),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.Color(0.97, 0.97, 0.97)]),
    ]
    for i, is_number in enumerate(numeric):
        if is_number:
            style.append(("ALIGN", (i, 1), (i, -1), "RIGHT"))
    if table.total is not None and table.rows:
        style += [
            ("BACKGROUND", (0, -1), (-1, -1), colors.Color(*TOTAL_SHADE)),
            ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.grey),
        ]
    grid.setStyle(TableStyle(style))
    return grid


def _cell(text: str, styles):
    """A plain string when Helvetica draws it all, else a paragraph with the CJK runs."""
    from reportlab.platypus import Paragraph

    return text if _is_latin(text) else Paragraph(_markup(text), styles["cell"])


def _widths(table: Table, data: list[list], width: float) -> list[float]:
    """Columns sized by their longest text, scaled to the page when they would not fit."""
    need = []
    for i, column in enumerate(table.columns):
        longest = max(
            (
                _text_width(row[i] if isinstance(row[i], str) else row[i].text, 7)
                for row in data[1:]
            ),
            default=0,
        )
        title = max(_text_width(t, 6.2) for t in column.title)
        need.append(max(longest, title, 14) + 6)
    total = sum(need)
    if total <= width:
        return need
    return [w * width / total for w in need]


def _chart(chart: Chart, styles, width: float):
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    height = 52 * MM
    drawing = Drawing(width, height)
    bars = VerticalBarChart()
    bars.x, bars.y = 34, 16
    bars.width, bars.height = width - 44, height - 26
    values = [v / 100 if chart.kind == "money" else v for v in chart.values] or [0]
    bars.data = [values]
    labels = list(chart.labels) or [""]
    if len(labels) > MAX_CHART_BARS // 2:
        labels = [label if i % 2 == 0 else "" for i, label in enumerate(labels)]
    bars.categoryAxis.categoryNames = labels
    bars.categoryAxis.labels.fontName = LATIN
    bars.categoryAxis.labels.fontSize = 5.5
    bars.categoryAxis.labels.angle = 90 if len(labels) > 16 else 0
    bars.categoryAxis.labels.dy = -8 if len(labels) > 16 else -2
    bars.valueAxis.valueMin = 0
    bars.valueAxis.labels.fontName = LATIN
    bars.valueAxis.labels.fontSize = 6
    top = max(values)
    bars.valueAxis.valueMax = top * 1.1 if top > 0 else 1
    bars.bars[0].fillColor = colors.Color(*BAR_COLOUR)
    bars.bars[0].strokeColor = None
    drawing.add(bars)
    return drawing


def render_report(report: Report) -> bytes:
    """The report as PDF bytes (A4 portrait, as many pages as its tables need)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    from clerk.documents.receipt import save_pdf
    from clerk.domain.reports import TITLES

    styles = _styles()
    out = io.BytesIO()
    page_width, page_height = A4
    width = page_width - 2 * MARGIN
    title = _tri(report.title)
    period = (
        report.start.isoformat()
        if report.start == report.end
        else f"{report.start.isoformat()} – {report.end.isoformat()}"
    )

    def page(canvas, doc) -> None:
        canvas.saveState()
        top = page_height - MARGIN + 2 * MM
        y = top
        for name in report.office:
            if name:
                _draw(canvas, MARGIN, y, name, 8)
                y -= 9.5
        right = page_width - MARGIN
        _draw(canvas, right, top, title, 7.5, right=True)
        _draw(canvas, right, top - 9.5, period, 7.5, right=True)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, y + 5, right, y + 5)
        generated = f"{report.generated_at:%Y-%m-%d %H:%M}"
        _draw(canvas, MARGIN, MARGIN - 6 * MM, f"{_tri(TITLES['generated'], ' ')}: {generated}", 7)
        _draw(
            canvas, right, MARGIN - 6 * MM, f"{_tri(TITLES['page'], ' ')} {doc.page}", 7, right=True
        )
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_SPACE - 6 * MM,
        bottomMargin=MARGIN,
        title=f"{report.title[2]} {period}",
        author=report.office[2] or report.office[0],
    )
    story = [
        Paragraph(_markup(title), styles["title"]),
        Paragraph(_markup(f"{_tri(TITLES['period'], ' ')}: {period}"), styles["meta"]),
    ]
    charts = {chart.key: chart for chart in report.charts}
    for chart in report.charts[:1]:  # the main chart first, under the title
        story += _chart_block(chart, styles, width)
    for table in report.tables:
        heading = Paragraph(_markup(_tri(table.title)), styles["h2"])
        grid = _table(table, styles, width)
        story.append(KeepTogether([heading, grid]) if len(table.rows) < 25 else heading)
        if len(table.rows) >= 25:
            story.append(grid)
        if table.truncated:
            story.append(
                Paragraph(
                    _escape(f"… {len(table.rows)}+ (CSV/JSON: clerk report {report.name})"),
                    styles["note"],
                )
            )
    for key, chart in charts.items():
        if key != report.charts[0].key:
            story += _chart_block(chart, styles, width)
    if report.audit_seq is not None:
        story += [
            Spacer(1, 4 * MM),
            Paragraph(_markup(_tri(TITLES["audit"])), styles["h2"]),
            Paragraph(f"#{report.audit_seq}", styles["hash"]),
            Paragraph(report.audit_hash or "—", styles["hash"]),
            Paragraph(_escape(f"clerk audit verify --expect {report.audit_hash}"), styles["note"]),
        ]
    doc.build(story, onFirstPage=page, onLaterPages=page, canvasmaker=_canvas_maker(save_pdf))
    return out.getvalue()


def _chart_block(chart: Chart, styles, width: float) -> list:
    from reportlab.platypus import KeepTogether, Paragraph

    return [
        KeepTogether(
            [Paragraph(_markup(_tri(chart.title)), styles["h2"]), _chart(chart, styles, width)]
        )
    ]


def _canvas_maker(save_pdf):
    """A canvas whose save goes through `save_pdf` (binary streams, one save at a time)."""
    from reportlab.pdfgen.canvas import Canvas

    class ReportCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("pageCompression", 1)
            super().__init__(*args, **kwargs)

        def save(self):
            save_pdf(_Plain(self))

    return ReportCanvas


class _Plain:
    """Calls the real `Canvas.save` from `save_pdf` (which calls `.save()`)."""

    def __init__(self, canvas):
        self.canvas = canvas

    def save(self) -> None:
        from reportlab.pdfgen.canvas import Canvas

        Canvas.save(self.canvas)
