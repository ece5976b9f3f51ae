"""The supervisor's desk: today's office at a glance, refreshed every few seconds.

Waiting now per service (with the queue's estimate and the longest current wait), the average and
90th-percentile wait today, tags served per counter and per clerk, counters serving/idle/closed,
each clerk's service time, tags served by hour as bars, takings so far by tender, cards ready and
uncollected, and what waits for a supervisor. Supervisors and administrators only (the service
refuses anyone else). The numbers come from `clerk.domain.dashboard.snapshot`, run in a worker:
the screen never blocks while it refreshes.

Keys (ids in brackets, remappable in [keymap]): F2 reports [supervisor.reports], F3 approvals
[supervisor.approvals], F4 the audit trail [supervisor.audit], F5 refresh now
[supervisor.refresh], Escape back [supervisor.back].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Static

from clerk.i18n import N_, _
from clerk.screens.base import ClerkScreen, every
from clerk.widgets.header import ClerkHeader

if TYPE_CHECKING:
    from clerk.domain.dashboard import Dashboard

REFRESH_SECONDS = 5
BLOCKS = "▁▂▃▄▅▆▇█"
NARROW = 100  # below this width the panels stack
STATE_LABELS = {"serving": N_("serving"), "idle": N_("idle"), "closed": N_("closed")}
STATE_STYLES = {"serving": "green", "idle": "yellow", "closed": "dim"}
KIND_LABELS = {
    "exemption": N_("exemptions"),
    "checklist-override": N_("overrides"),
    "void": N_("voids"),
    "refund": N_("refunds"),
    "variance": N_("variances"),
}


def duration(seconds: int | None) -> str:
    from clerk.domain.reports import format_seconds

    return format_seconds(seconds) if seconds else "—"


def bars(
    labels: tuple[str, ...], values: tuple[int, ...], width: int, *, money: bool = False
) -> Text:
    """Values as a line of bars with the largest value, and their labels underneath: two cells
    a bar when they fit in `width`, else one cell a bar with the first and last labels."""
    text = Text()
    if not values or max(values) <= 0:
        text.append("—", style="dim")
        return text
    top = max(values)
    wide = len(values) * 3 <= width - 10
    for value in values:
        level = 0 if value <= 0 else 1 + (value * (len(BLOCKS) - 1)) // top
        bar = BLOCKS[level - 1] if level else " "
        text.append(bar * 2 + " " if wide else bar, style="cyan")
    text.append(f"  {money_text_of(top) if money else top}\n", style="dim")
    if wide:
        text.append("".join(f"{label[-2:]:<3}" for label in labels), style="dim")
    else:
        gap = max(1, len(values) - len(labels[0]) - len(labels[-1]))
        text.append(f"{labels[0]}{' ' * gap}{labels[-1]}", style="dim")
    return text


def money_text_of(avos: int) -> str:
    from clerk.domain.reports import money_text

    return money_text(avos)


def _table(*columns: tuple[str, str], first: int | None = None) -> Table:
    """A borderless table; the first column at most `first` cells wide (cut with …), the
    others at least as wide as their heading."""
    table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 1))
    for i, (title, justify) in enumerate(columns):
        table.add_column(
            title,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=True,
            overflow="ellipsis",
            max_width=first if i == 0 else None,
            min_width=None if i == 0 else len(title),
        )
    return table


class SupervisorScreen(ClerkScreen):
    BINDINGS = [
        Binding("f2", "reports", N_("Reports"), id="supervisor.reports"),
        Binding("f3", "approvals", N_("Approvals"), id="supervisor.approvals"),
        Binding("f4", "audit", N_("Audit trail"), id="supervisor.audit"),
        Binding("f5", "refresh", N_("Refresh"), id="supervisor.refresh"),
        Binding("escape", "back", N_("Back"), id="supervisor.back"),
    ]
    DEFAULT_CSS = """
    #desk { padding: 0 1; }
    #desk-title { text-style: bold; height: 1; }
    #desk-figures { height: auto; margin-bottom: 1; }
    .desk-row { height: auto; }
    .desk-panel { width: 1fr; height: auto; border: round $panel; padding: 0 1;
                  border-title-color: $accent;
                  margin-right: 1; }
    .desk-panel.last { margin-right: 0; }
    SupervisorScreen.narrow .desk-row { layout: vertical; }
    SupervisorScreen.narrow .desk-panel { margin-right: 0; }
    #desk-message { height: auto; }
    """
    AUTO_FOCUS = "#desk"

    def __init__(self) -> None:
        super().__init__()
        self.busy = False
        self.data: Dashboard | None = None

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with VerticalScroll(id="desk"):
            yield Static(_("Supervisor's desk"), id="desk-title", markup=False)
            yield Static(_("Loading…"), id="desk-figures", markup=False)
            with Horizontal(classes="desk-row"):
                with Vertical(classes="desk-panel"):
                    yield Static(id="desk-services")
                with Vertical(classes="desk-panel last"):
                    yield Static(id="desk-counters")
            with Horizontal(classes="desk-row"):
                with Vertical(classes="desk-panel"):
                    yield Static(id="desk-clerks")
                with Vertical(classes="desk-panel last"):
                    yield Static(id="desk-takings")
                    yield Static(id="desk-hours")
            yield Static(id="desk-message", classes="message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        for key, title in (
            ("services", _("Waiting now")),
            ("counters", _("Counters")),
            ("clerks", _("Clerks today")),
            ("takings", _("Takings today")),
        ):
            panel = self.query_one(f"#desk-{key}", Static).parent
            if panel is not None:
                panel.border_title = title
        self.set_class(self.size.width < NARROW, "narrow")
        self.action_refresh()
        every(self, REFRESH_SECONDS, self.action_refresh)

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "narrow")

    # -- data --------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        if self.busy:  # the previous refresh is still running: never pile them up
            return
        from clerk.domain.dashboard import snapshot

        self.busy = True
        clerk = self.clerk
        self.call_service(
            snapshot,
            clerk.ctx,
            clerk.actor,
            on_done=self._show,
            on_error=self._failed,
            group="dashboard",
        )

    def _failed(self, message: str) -> None:
        self.busy = False
        self.query_one("#desk-message", Static).update(message)

    def _show(self, data: Dashboard) -> None:
        self.busy = False
        self.data = data
        lang = self.clerk.language
        waiting = sum(sv.waiting for sv in data.services)
        approvals = ", ".join(
            f"{n} {_(KIND_LABELS.get(kind, kind))}" for kind, n in sorted(data.approvals.items())
        )
        figures = [
            _("{day} at {time}").format(day=data.day.isoformat(), time=f"{data.at:%H:%M:%S}"),
            _("waiting {n}, longest {t}").format(n=waiting, t=duration(data.longest_wait_s)),
            _("wait today: average {avg}, 90% within {p90}").format(
                avg=duration(data.wait_mean_s), p90=duration(data.wait_p90_s)
            ),
            _("takings MOP {amount}").format(amount=money_text_of(data.takings_total)),
            _("cards ready {ready}, uncollected after {days} days {late}").format(
                ready=data.ready, days=data.uncollected_days, late=data.uncollected
            ),
            _("waiting for a supervisor: {n}").format(n=data.approvals_waiting)
            + (f" ({approvals})" if approvals else ""),
        ]
        if data.stale_drafts:
            figures.append(_("drafts left from earlier days: {n}").format(n=data.stale_drafts))
        self.query_one("#desk-figures", Static).update(" · ".join(figures))

        room = self.query_one("#desk-services", Static).size.width or self.size.width - 6
        services = _table(
            (_("Service"), "left"),
            (_("Waiting"), "right"),
            (_("Longest"), "right"),
            (_("Est."), "right"),
            (_("Served"), "right"),
            (_("90%"), "right"),
            first=max(8, room - 44),
        )
        for sv in data.services:
            estimate = (
                "—" if sv.estimate_minutes is None else _("{n} min").format(n=sv.estimate_minutes)
            )
            services.add_row(
                f"{sv.code} {sv.names.title(lang)}",
                str(sv.waiting),
                duration(sv.longest_wait_s),
                estimate,
                str(sv.served),
                duration(sv.wait_p90_s),
            )
        self.query_one("#desk-services", Static).update(services)

        self.query_one("#desk-counters", Static).update(self._counters(data))

        clerks = _table((_("Clerk"), "left"), (_("Served"), "right"), (_("Service time"), "right"))
        for c in data.clerks:
            clerks.add_row(c.username, str(c.served), duration(c.service_mean_s))
        if not data.clerks:
            clerks.add_row(_("nobody served yet"), "", "")
        self.query_one("#desk-clerks", Static).update(clerks)

        takings = _table((_("Tender"), "left"), (_("MOP"), "right"))
        for method, avos in data.takings:
            takings.add_row(method, money_text_of(avos))
        takings.add_row(
            Text(_("Total"), style="bold"), Text(money_text_of(data.takings_total), "bold")
        )
        self.query_one("#desk-takings", Static).update(takings)
        hours = Text(_("Served by hour") + "\n", style="bold")
        panel = self.query_one("#desk-hours", Static)
        width = panel.size.width or (self.size.width // 2 - 6)
        labels = tuple(f"{h:02d}" for h in data.hours)
        hours.append_text(bars(labels, data.served_by_hour, width))
        self.query_one("#desk-hours", Static).update(hours)
        self.query_one("#desk-message", Static).update("")

    def _counters(self, data: Dashboard):
        """How many counters serve, idle or are closed; then each counter that is open or
        served someone today (a large office has dozens)."""
        from rich.console import Group

        states = {state: 0 for state in STATE_LABELS}
        for c in data.counters:
            states[c.state] = states.get(c.state, 0) + 1
        summary = Text()
        for state, n in states.items():
            summary.append(f"{_(STATE_LABELS[state])} {n}  ", style=STATE_STYLES[state])
        counters = _table(
            (_("Counter"), "left"),
            (_("State"), "left"),
            (_("Tag"), "left"),
            (_("Clerk"), "left"),
            (_("Served"), "right"),
        )
        for c in data.counters:
            if c.state == "closed" and not c.served:
                continue
            counters.add_row(
                str(c.number),
                Text(_(STATE_LABELS.get(c.state, c.state)), style=STATE_STYLES.get(c.state, "")),
                c.tag or "",
                c.clerk,
                str(c.served),
            )
        return Group(summary, counters) if counters.row_count else summary

    # -- keys --------------------------------------------------------------------------------
    def action_reports(self) -> None:
        from clerk.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen())

    def action_approvals(self) -> None:
        from clerk.screens.approvals import ApprovalsScreen

        self.app.push_screen(ApprovalsScreen())

    def action_audit(self) -> None:
        from clerk.screens.audit_viewer import AuditViewerScreen

        self.app.push_screen(AuditViewerScreen())

    def action_back(self) -> None:
        self.app.pop_screen()
