"""The supervisor's reports on screen: choose one, type the period, Enter.

Takings, queue, applications, cards, and the daily report (which ends with the audit chain's
newest hash). The tables and charts are the same data the PDF, CSV and JSON are made from
(`clerk.domain.reports`); the screen shows the user's language, the PDF all three.

Keys (ids in brackets, remappable in [keymap]): Enter in the list or a date runs the report
[reports.run is F5]; F2 saves the PDF [reports.pdf], F3 the CSV [reports.csv], F4 the JSON
[reports.json] into the reports folder; F6 prints the PDF [reports.print]; Escape back
[reports.back]. Dates are YYYY-MM-DD; empty: from the 1st of this month to today.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table as RichTable
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from clerk.i18n import N_, _
from clerk.screens.base import ClerkScreen
from clerk.screens.supervisor import bars
from clerk.widgets.header import ClerkHeader

if TYPE_CHECKING:
    from clerk.domain.reports import Report, Table

REPORT_LABELS = {
    "takings": N_("Takings"),
    "queue": N_("Queue"),
    "applications": N_("Applications"),
    "cards": N_("Cards"),
    "daily": N_("Daily report"),
}
SCREEN_ROWS = 200  # rows of one table on screen; the files carry them all


class ReportsScreen(ClerkScreen):
    BINDINGS = [
        Binding("f5", "run", N_("Run"), id="reports.run"),
        Binding("f2", "save('pdf')", N_("Save PDF"), id="reports.pdf"),
        Binding("f3", "save('csv')", N_("Save CSV"), id="reports.csv"),
        Binding("f4", "save('json')", N_("Save JSON"), id="reports.json"),
        Binding("f6", "print", N_("Print"), id="reports.print"),
        Binding("escape", "back", N_("Back"), id="reports.back"),
    ]
    DEFAULT_CSS = """
    #reports { padding: 0 1; height: 1fr; }
    #reports-top { height: 6; }
    #reports-list { width: 24; height: 6; border: none; }
    #reports-dates { width: 1fr; height: 6; padding-left: 2; }
    #reports-dates Label { height: 1; }
    #reports-dates Input { width: 16; border: none; height: 1; background: $panel; padding: 0 1; }
    #reports-dates Input:focus { border: none; background: $primary-darken-2; }
    #reports-message { height: auto; }
    #reports-body { height: 1fr; }
    .report-heading { text-style: bold; margin-top: 1; height: auto; }
    .report-table { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.report: Report | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with Vertical(id="reports"):
            with Horizontal(id="reports-top"):
                yield OptionList(
                    *[Option(_(label), id=key) for key, label in REPORT_LABELS.items()],
                    id="reports-list",
                )
                with Vertical(id="reports-dates"):
                    yield Label(_("From (YYYY-MM-DD, empty: the 1st of the month)"))
                    yield Input(id="reports-from", max_length=10)
                    yield Label(_("To (empty: today)"))
                    yield Input(id="reports-to", max_length=10)
            yield Static(id="reports-message", classes="message", markup=False)
            yield VerticalScroll(id="reports-body")
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one("#reports-list", OptionList)
        options.highlighted = 0
        options.focus()

    @property
    def name_chosen(self) -> str:
        option = self.query_one("#reports-list", OptionList).highlighted_option
        return option.id if option is not None and option.id else "takings"

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_run()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "reports-from":
            self.query_one("#reports-to", Input).focus()
            return
        self.action_run()

    def say(self, message: str) -> None:
        self.query_one("#reports-message", Static).update(message)

    # -- run ---------------------------------------------------------------------------------
    def action_run(self) -> None:
        if self.busy:
            return
        from clerk.domain.reports import build

        self.busy = True
        self.say(_("Working…"))
        clerk = self.clerk
        self.call_service(
            build,
            clerk.ctx,
            clerk.actor,
            self.name_chosen,
            self.query_one("#reports-from", Input).value.strip() or None,
            self.query_one("#reports-to", Input).value.strip() or None,
            on_done=self._show,
            on_error=self._failed,
            group="report",
        )

    def _failed(self, message: str) -> None:
        self.busy = False
        self.say(message)

    def _show(self, report: Report) -> None:
        from clerk.domain.reports import pick

        self.busy = False
        self.report = report
        lang = self.clerk.language
        body = self.query_one("#reports-body", VerticalScroll)
        body.remove_children()
        period = (
            report.start.isoformat()
            if report.start == report.end
            else f"{report.start.isoformat()} – {report.end.isoformat()}"
        )
        self.say(f"{pick(report.title, lang)} · {period}")
        widgets: list[Static] = []
        width = max(40, self.size.width - 4)
        for chart in report.charts:
            widgets.append(Static(pick(chart.title, lang), classes="report-heading", markup=False))
            chart_bars = bars(chart.labels, chart.values, width, money=chart.kind == "money")
            widgets.append(Static(chart_bars, classes="report-table"))
        for table in report.tables:
            widgets.append(Static(pick(table.title, lang), classes="report-heading", markup=False))
            widgets.append(Static(self._rich(table, lang), classes="report-table"))
        if report.audit_seq is not None:
            from clerk.domain.reports import TITLES

            widgets.append(Static(pick(TITLES["audit"], lang), classes="report-heading"))
            widgets.append(
                Static(f"#{report.audit_seq}  {report.audit_hash}", classes="report-table")
            )
        body.mount(*widgets)
        body.scroll_home(animate=False)

    def _rich(self, table: Table, lang: str) -> RichTable:
        from clerk.domain.reports import cell_text, pick

        grid = RichTable(box=None, header_style="bold", pad_edge=False, padding=(0, 1))
        for column in table.columns:
            numeric = column.kind in ("int", "money", "seconds")
            grid.add_column(pick(column.title, lang), justify="right" if numeric else "left")
        for values in table.rows[:SCREEN_ROWS]:
            grid.add_row(*(cell_text(c, v) for c, v in zip(table.columns, values, strict=True)))
        if not table.rows:
            grid.add_row("—", *([""] * (len(table.columns) - 1)))
        elif len(table.rows) > SCREEN_ROWS or table.truncated:
            grid.add_row(
                Text(_("… more rows in the PDF and CSV"), style="dim"),
                *([""] * (len(table.columns) - 1)),
            )
        if table.total is not None and table.rows:
            cells = [cell_text(c, v) for c, v in zip(table.columns, table.total, strict=True)]
            cells[0] = cells[0] or _("Total")
            grid.add_row(*(Text(cell, style="bold") for cell in cells))
        return grid

    # -- files -------------------------------------------------------------------------------
    def action_save(self, fmt: str) -> None:
        if self.report is None:
            self.say(_("Run a report first (Enter)."))
            return
        from clerk.domain.reports import save

        self.call_service(
            save,
            self.report,
            fmt,
            on_done=lambda path: self.say(_("Saved: {path}").format(path=path)),
            on_error=self.say,
        )

    def action_print(self) -> None:
        if self.report is None:
            self.say(_("Run a report first (Enter)."))
            return
        from clerk.domain.reports import print_report

        self.call_service(
            print_report,
            self.clerk.ctx,
            self.report,
            on_done=lambda where: self.say(_("Printed: {where}").format(where=where)),
            on_error=self.say,
        )

    def action_back(self) -> None:
        self.app.pop_screen()
