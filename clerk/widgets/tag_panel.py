"""The counter's calling panel, reusable by any counter screen (the queue screen, the intake flow).

It shows the tag in the counter's hands (large), its service, the wait so far and the appointment,
and drives the calls: next, recall, serving, finish, no-show, park, resume, transfer. A host
screen adds `TAG_BINDINGS` to its BINDINGS and mixes in `TagPanelHost`, so the keys work wherever
the focus is on that screen. All work goes through `clerk.domain.queue` off the UI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal, ServiceCalls, every
from clerk.widgets.big_code import BigCode
from clerk.widgets.text import show

if TYPE_CHECKING:
    from clerk.domain.queue import TagView

TAG_BINDINGS = [
    Binding("f5", "tag('call_next')", N_("Next"), id="tag.call_next"),
    Binding("f6", "tag('recall')", N_("Recall"), id="tag.recall"),
    Binding("f7", "tag('serve')", N_("Serve"), id="tag.serve"),
    Binding("f8", "tag('finish')", N_("Finish"), id="tag.finish"),
    Binding("f9", "tag('no_show')", N_("No-show"), id="tag.no_show"),
    Binding("f3", "tag('park')", N_("Park"), id="tag.park"),
    Binding("f4", "tag('resume')", N_("Resume"), id="tag.resume"),
    Binding("f2", "tag('transfer')", N_("Transfer"), id="tag.transfer"),
]

STATUS = {
    "waiting": N_("waiting"),
    "called": N_("called"),
    "serving": N_("being served"),
    "parked": N_("parked"),
    "finished": N_("finished"),
    "no-show": N_("no-show"),
}

# what each key may do, by the status of the current tag (None: no tag)
ALLOWED: dict[str, tuple[str | None, ...]] = {
    "call_next": (None, "called", "serving"),
    "recall": ("called",),
    "serve": ("called",),
    "finish": ("called", "serving"),
    "no_show": ("called",),
    "park": ("called", "serving"),
    "resume": (None,),
    "transfer": ("called", "serving"),
}

# the service function for the keys that act on the current tag
ON_TAG = {
    "recall": "recall",
    "serve": "start_serving",
    "finish": "finish",
    "no_show": "no_show",
    "park": "park",
}


def minutes_text(seconds: float) -> str:
    """Elapsed time as m:ss, or h:mm:ss from an hour on."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60}:{rest % 60:02d}"


class PickModal(ClerkModal):
    """Choose one item with the arrows and Enter; Esc cancels (dismisses with None)."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="pick.cancel")]
    DEFAULT_CSS = """
    PickModal { align: center middle; }
    #pick-box { width: 64; max-width: 100%; height: auto; max-height: 80%;
                border: round $accent; background: $surface; padding: 0 1; }
    #pick-title { text-style: bold; margin-bottom: 1; }
    #pick-list { height: auto; max-height: 14; }
    """

    def __init__(self, title: str, options: list[tuple[str, str]]):
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Static(self.title_text, id="pick-title", markup=False)
            yield OptionList(
                *[Option(label, id=key) for key, label in self.options], id="pick-list"
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TagPanel(ServiceCalls, Widget):
    """The tag at this counter and the calling keys' logic."""

    DEFAULT_CSS = """
    TagPanel { height: auto; border: round $primary; padding: 0 1; }
    TagPanel #tag-top { height: 3; }
    TagPanel #tag-code { width: auto; min-width: 12; margin-right: 2; color: $accent; }
    TagPanel #tag-info { width: 1fr; height: 3; }
    TagPanel #tag-service { text-style: bold; height: 1; }
    TagPanel #tag-status { height: 1; }
    TagPanel #tag-times { height: 1; }
    TagPanel #tag-appointment { height: auto; color: $text-muted; }
    TagPanel #tag-appointment.-empty { display: none; }
    TagPanel #tag-message { height: 1; color: $warning; }
    TagPanel #tag-message.error { color: $error; }
    """

    class Changed(Message):
        """The counter's tag changed (called, finished, …): hosts refresh their lists."""

        def __init__(self, view: TagView | None):
            super().__init__()
            self.view = view

    def __init__(self, *, id: str | None = "tag-panel"):
        super().__init__(id=id)
        self.view: TagView | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="tag-top"):
            yield BigCode("---", id="tag-code")
            with Vertical(id="tag-info"):
                yield Static(id="tag-service", markup=False)
                yield Static(id="tag-status", markup=False)
                yield Static(id="tag-times", markup=False)
        yield Static(id="tag-appointment", markup=False)
        yield Static(id="tag-message", markup=False)

    def on_mount(self) -> None:
        self.border_title = _("Counter {n}").format(n=self.clerk.counter)
        self._render_view()
        self.reload()
        every(self, 1, self._tick)

    # -- state -----------------------------------------------------------------------------------
    def reload(self) -> None:
        from clerk.domain.queue import current_tag

        self.call_service(
            current_tag, self.clerk.ctx, self.clerk.counter, on_done=self._set, on_error=self.say
        )

    def _set(self, view: TagView | None, message: str = "") -> None:
        self.view = view
        self._render_view()
        self.say(message, error=False)
        self.post_message(self.Changed(view))
        self.screen.refresh_bindings()

    def say(self, message: str, error: bool = True) -> None:
        line = self.query_one("#tag-message", Static)
        line.set_class(error, "error")
        show(line, message)

    def _render_view(self) -> None:
        v = self.view
        code = self.query_one("#tag-code", BigCode)
        service = self.query_one("#tag-service", Static)
        status = self.query_one("#tag-status", Static)
        appointment = self.query_one("#tag-appointment", Static)
        if v is None:
            code.update("---")
            show(service, _("No tag at this counter"))
            show(status, _("{key} calls the next one").format(key=self._key_of("call_next")))
        else:
            code.update(v.code)
            show(service, f"{v.service} · {v.service_names.title(self.clerk.language)}")
            show(
                status, _("{status} · recalls {n}").format(status=_(STATUS[v.status]), n=v.recalls)
            )
            a = v.appointment
            show(
                appointment,
                _("Appointment {slot} · {name} · {id_number} · {code}").format(
                    slot=a.slot, name=a.name, id_number=a.id_number, code=a.booking_code
                )
                if a
                else "",
            )
        appointment.set_class(v is None or v.appointment is None, "-empty")
        self._tick()

    def _key_of(self, what: str) -> str:
        """The key the host screen binds to one of the panel's actions (after any [keymap])."""
        for _key, (_node, binding, _enabled, _tip) in self.screen.active_bindings.items():
            if binding.action == f"tag('{what}')":
                return self.app.get_key_display(binding)
        return "F5" if what == "call_next" else what

    def _tick(self) -> None:
        from clerk.domain.clock import to_local, utcnow

        v = self.view
        times = self.query_one("#tag-times", Static)
        if v is None:
            show(times, "")
            return
        now = utcnow()
        waited = ((v.called_at or now) - v.issued_at).total_seconds()
        issued = to_local(v.issued_at, self.clerk.ctx.tz)
        text = _("issued {time} · waited {waited}").format(
            time=f"{issued:%H:%M}", waited=minutes_text(waited)
        )
        if v.called_at is not None:
            text += " · " + _("at the counter {t}").format(
                t=minutes_text((now - v.called_at).total_seconds())
            )
        show(times, text)

    # -- keys ------------------------------------------------------------------------------------
    def can(self, what: str) -> bool:
        status = self.view.status if self.view is not None else None
        return status in ALLOWED.get(what, ())

    def do(self, what: str) -> None:
        from clerk.domain import queue

        if not self.can(what):
            return
        ctx, actor, counter = self.clerk.ctx, self.clerk.actor, self.clerk.counter
        self.say(_("Working…"), error=False)
        if what == "call_next":
            self.call_service(
                queue.call_next, ctx, actor, counter, on_done=self._called, on_error=self.say
            )
        elif what in ON_TAG:
            fn = getattr(queue, ON_TAG[what])
            self.call_service(
                fn, ctx, actor, self.view.code, counter, on_done=self._acted, on_error=self.say
            )
        elif what == "resume":
            self.call_service(
                queue.parked_tags, ctx, counter, on_done=self._pick_parked, on_error=self.say
            )
        elif what == "transfer":
            self.call_service(
                queue.services_list, ctx, on_done=self._pick_service, on_error=self.say
            )

    def take(self, code: str) -> None:
        """A tag number typed or scanned: call it (waiting) or resume it (parked, no-show)."""
        from clerk.domain.queue import take_tag

        self.say(_("Working…"), error=False)
        self.call_service(
            take_tag,
            self.clerk.ctx,
            self.clerk.actor,
            self.clerk.counter,
            code,
            on_done=self._called,
            on_error=self.say,
        )

    def _called(self, view: TagView | None) -> None:
        if view is None:
            self.say(_("Nobody is waiting for this counter."), error=False)
            return
        self._set(view, _("{code} called to counter {n}.").format(code=view.code, n=view.counter))

    def _acted(self, view: TagView) -> None:
        if view.status in ("called", "serving"):
            self._set(view)
        else:
            self._set(
                None, _("{code}: {status}.").format(code=view.code, status=_(STATUS[view.status]))
            )

    def _pick_parked(self, rows) -> None:
        if not rows:
            self.say(_("No parked tag at this counter; type a no-show's number to resume it."))
            return
        options = [(r.tag, f"{r.tag}  {r.service}") for r in rows]
        self.app.push_screen(PickModal(_("Resume which tag?"), options), self._resume)

    def _resume(self, code: str | None) -> None:
        from clerk.domain.queue import resume

        if code is None:
            self.say("", error=False)
            return
        self.call_service(
            resume,
            self.clerk.ctx,
            self.clerk.actor,
            code,
            self.clerk.counter,
            on_done=lambda v: self._set(v, _("{code} called again.").format(code=v.code)),
            on_error=self.say,
        )

    def _pick_service(self, services) -> None:
        if self.view is None:
            return
        lang = self.clerk.language
        options = [
            (code, f"{code}  {names.title(lang)}")
            for code, names, _priority in services
            if code != self.view.service
        ]
        title = _("Transfer {code} to which service?").format(code=self.view.code)
        self.app.push_screen(PickModal(title, options), self._transfer)

    def _transfer(self, service: str | None) -> None:
        from clerk.domain.queue import transfer

        if service is None or self.view is None:
            self.say("", error=False)
            return
        code = self.view.code
        self.call_service(
            transfer,
            self.clerk.ctx,
            self.clerk.actor,
            code,
            service,
            self.clerk.counter,
            on_done=lambda v: self._set(
                None, _("{code} sent to service {service}.").format(code=code, service=v.service)
            ),
            on_error=self.say,
        )


class TagPanelHost:
    """Mixin for a screen holding a `TagPanel`: `TAG_BINDINGS` drive it, shown when they apply."""

    def action_tag(self, what: str) -> None:
        self.query_one(TagPanel).do(what)  # type: ignore[attr-defined]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tag" and parameters:
            try:
                panel = self.query_one(TagPanel)  # type: ignore[attr-defined]
            except NoMatches:  # not mounted yet
                return False
            return panel.can(str(parameters[0]))
        return True
