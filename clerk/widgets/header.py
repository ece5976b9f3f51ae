"""The top line: office, counter, clerk, business date and clock, device status."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from clerk.i18n import _
from clerk.screens.base import every
from clerk.widgets.text import show

WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "zh_Hant": ("一", "二", "三", "四", "五", "六", "日"),
    "pt": ("seg", "ter", "qua", "qui", "sex", "sáb", "dom"),
}


class ClerkHeader(Static):
    DEFAULT_CSS = """
    ClerkHeader { dock: top; height: 1; background: $primary-darken-2; color: $foreground; }
    """

    def on_mount(self) -> None:
        self.update_line()
        every(self, 1, self.update_line)

    def on_resize(self) -> None:
        self.update_line()  # the office name fits the width as soon as the width is known

    def update_line(self) -> None:
        from clerk.domain.clock import local_now

        app = self.app
        cfg = app.ctx.config
        now = local_now(cfg.office.timezone)
        wd = WEEKDAYS.get(app.language, WEEKDAYS["en"])[now.weekday()]
        office = {"zh_Hant": cfg.office.name_zh, "pt": cfg.office.name_pt}.get(
            app.language
        ) or cfg.office.name
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" ")
        line.append(_("Counter {n}").format(n=app.counter), style="bold")
        if app.actor is not None:
            line.append(" │ ")
            line.append(app.actor.full_name or app.actor.username)
        line.append(" │ ")
        line.append(f"{now:%Y-%m-%d} {wd} {now:%H:%M:%S}", style="bold")
        if app.demo:
            line.append(" │ ")
            line.append(_("DEMO"), style="bold reverse")
        status = app.device_status
        line.append(" │ ")
        line.append(_("printer {name}").format(name=status.get("printer", "—")))
        line.append(" · ")
        line.append(_("reader {state}").format(state=status.get("reader", "—")))
        room = self.size.width - line.cell_len - 3
        if room >= 6:
            line.append(" │ ")
            short = Text(office, no_wrap=True)
            short.truncate(room, overflow="ellipsis")
            line.append_text(short)
        show(self, line)
