"""The counter flow: from the called tag to a lodged application, by keyboard alone.

Steps: Call → Identify → Case → Facts → Checklist → (Marital evidence) → (Minor) → Review. The
step bar shows where the clerk stands and how many steps are left; Enter continues (saving the
step as a draft), Escape goes back one step (what was typed stays in the fields). Every change
goes through `clerk.domain.intake` off the UI thread; the checklist, the fees, the dates and
which facts to ask are the policy engine's.

Keys (ids in brackets, remappable in [keymap]):
- Call: F5 next tag and the other calling keys of `clerk.widgets.tag_panel` [tag.*]; Enter on a
  draft resumes it; Ctrl+N serves without a tag [counter.new].
- Identify: type an ID card number or a name, Enter; Ctrl+R reads the card [counter.read_card].
- Case: 1–8 choose the case and continue [counter.case_*]; N, E, S the service level
  [counter.service_*]; X the external service [counter.external].
- Checklist, marital evidence, minor: O original seen, C copy received, M missing, U to check
  again [counter.mark_*]; V a supervisor's override [counter.override]: the supervisor types their
  password in the dialog, or the clerk types only the reason and F9 asks the supervisor's desk
  [counter.ask_desk] (the item shows as waiting; once approved, as overridden); B a brief report of
  death offered (refused) [counter.brief_report].
- Review: Enter lodges [counter.lodge], then the payment [counter.payment].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    ContentSwitcher,
    DataTable,
    Footer,
    Input,
    Label,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from clerk.domain.policy.codes import CASES, SERVICES  # the keys 1–8 follow this order
from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal, ClerkScreen, every
from clerk.widgets.checklist_table import ChecklistTable, mark_text
from clerk.widgets.header import ClerkHeader
from clerk.widgets.intake_fields import (
    CASE_LABELS,
    FACT_LABELS,
    STEP_LABELS,
    ChoiceField,
    StepBar,
    case_label,
    service_label,
    value_label,
)
from clerk.widgets.tag_panel import TAG_BINDINGS, TagPanel, TagPanelHost

if TYPE_CHECKING:
    from clerk.domain.approvals import Asked
    from clerk.domain.intake import Draft, Identified, Item, Lodged, Review
    from clerk.domain.queue import TagView

SERVICE_KEYS = {"normal": "n", "express": "e", "special-express": "s"}
FIRST_STEPS = ("call", "identify", "case", "facts", "checklist", "review")
# calling keys that would end the current service: only on the Call step
TAG_KEYS_OUTSIDE_CALL = ("park", "recall", "serve")
FORM_STEPS = ("identify", "facts", "minors")  # ↑↓ move between their fields
ITEM_STEPS = ("checklist", "marital", "minors")  # steps that mark checklist items
DESK_POLL_SECONDS = 10  # while the supervisor's desk has not answered about an item
# what the supervisor's desk said about an item still held up: (symbol, label, style)
DESK_MARKS = {
    "pending": ("⧗", N_("desk: waiting"), "bold yellow"),
    "refused": ("✗", N_("desk: refused"), "bold red"),
}


def _case_binding(index: int, case: str) -> Binding:
    return Binding(
        str(index + 1),
        f"case('{case}')",
        CASE_LABELS[case],
        show=False,
        id=f"counter.case_{case.replace('-', '_')}",
    )


def desk_and_draft(ctx, actor, app_id: int) -> tuple[dict[str, Asked], Draft]:
    """What the supervisor's desk said about a draft's items, then the draft as it stands (read
    in this order, an override approved in between shows as overridden, never as waiting)."""
    from clerk.domain.approvals import override_requests
    from clerk.domain.intake import load_draft

    asked = override_requests(ctx, actor, app_id)
    return asked, load_draft(ctx, actor, app_id)


def review_and_desk(ctx, actor, app_id: int) -> tuple[Review, dict[str, Asked]]:
    """The review of a draft, and what the supervisor's desk said about its items."""
    from clerk.domain.approvals import override_requests
    from clerk.domain.intake import review

    return review(ctx, actor, app_id), override_requests(ctx, actor, app_id)


def desk_note(asked: Asked | None) -> str:
    """One line on what the supervisor's desk said about an item (waiting or refused)."""
    if asked is None:
        return ""
    if asked.status == "pending":
        return _("Asked the supervisor's desk ({reason}): waiting for the decision.").format(
            reason=asked.reason
        )
    if asked.status == "refused":
        return _("The supervisor's desk refused ({who}): {reason}").format(
            who=asked.decided_by or "?", reason=asked.reason
        )
    return ""


class DeskChecklistTable(ChecklistTable):
    """The checklist, showing the items the supervisor's desk was asked about as waiting for
    it or refused by it, until they are seen or overridden."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.desk: dict[str, Asked] = {}

    def show(self, items, lang: str, *, after: str | None = None, keep: bool = False) -> None:
        super().show(items, lang, after=after, keep=keep)
        for item in self.items:
            asked = self.desk.get(item.code)
            if asked is None or asked.status not in DESK_MARKS or item.satisfied:
                continue
            symbol, label, style = DESK_MARKS[asked.status]
            self.update_cell(
                item.code, "state", Text(f"{symbol} {_(label)}", style=style, no_wrap=True)
            )


class OverrideModal(ClerkModal):
    """The supervisor types their name, password and the reason at the clerk's counter; or the
    clerk types only the reason and F9 asks the supervisor's desk (the dialog closes with the
    request, `clerk.domain.approvals.Request`)."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="counter.override_cancel"),
        Binding("f9", "ask_desk", N_("Ask the desk"), id="counter.ask_desk"),
    ]
    DEFAULT_CSS = """
    OverrideModal { align: center middle; }
    #override-box { width: 70; max-width: 100%; height: auto; border: heavy $warning;
                    background: $surface; padding: 0 1; }
    #override-box Input { border: none; height: 1; background: $panel; padding: 0 1;
                          margin-bottom: 1; }
    #override-box Input:focus { background: $primary-darken-2; }
    #override-title { text-style: bold; margin-bottom: 1; }
    #override-hint { color: $text-muted; margin-bottom: 1; }
    """

    FIELDS = ("user", "password", "reason")

    def __init__(self, app_id: int, item: Item, lang: str):
        super().__init__()
        self.app_id = app_id
        self.item = item
        self.lang = lang

    def compose(self) -> ComposeResult:
        with Vertical(id="override-box"):
            yield Static(
                _("Supervisor's override of one item: {title}").format(
                    title=self.item.title_for(self.lang)
                ),
                id="override-title",
                markup=False,
            )
            yield Static(
                _(
                    "The supervisor types their name and password here. Or type only the "
                    "reason and press F9: the supervisor's desk decides, and you go on."
                ),
                id="override-hint",
                markup=False,
            )
            yield Label(_("Supervisor"))
            yield Input(id="override-user", max_length=32)
            yield Label(_("Password"))
            yield Input(id="override-password", password=True, max_length=128)
            yield Label(_("Reason (kept with the approval)"))
            yield Input(id="override-reason", max_length=300)
            yield Static(id="override-message", classes="message", markup=False)

    def on_mount(self) -> None:
        self.query_one("#override-user", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter goes to the next empty field; with all three filled it asks for the approval."""
        event.stop()
        fields = [self.query_one(f"#override-{key}", Input) for key in self.FIELDS]
        empty = [field for field in fields if not field.value.strip()]
        if empty:
            after = fields.index(event.input) + 1
            later = [field for field in fields[after:] if field in empty]
            (later or empty)[0].focus()
            return
        from clerk.domain.intake import override_with_password

        clerk = self.clerk
        self.query_one("#override-message", Static).update(_("Checking…"))
        self.call_service(
            override_with_password,
            clerk.ctx,
            clerk.actor,
            self.app_id,
            self.item.code,
            self.query_one("#override-user", Input).value,
            self.query_one("#override-password", Input).value,
            self.query_one("#override-reason", Input).value,
            on_done=self.dismiss,
            on_error=self._refused,
        )

    def _refused(self, message: str) -> None:
        password = self.query_one("#override-password", Input)
        password.value = ""
        password.focus()
        self.query_one("#override-message", Static).update(message)

    _asking = False

    def action_ask_desk(self) -> None:
        """F9: the clerk asks the supervisor's desk instead; only the reason is typed."""
        from clerk.domain.approvals import request_override

        if self._asking:
            return
        self._asking = True
        clerk = self.clerk
        self.query_one("#override-message", Static).update(_("Asking the supervisor's desk…"))
        self.call_service(
            request_override,
            clerk.ctx,
            clerk.actor,
            self.app_id,
            self.item.code,
            self.query_one("#override-reason", Input).value,
            on_done=self.dismiss,
            on_error=self._not_asked,
        )

    def _not_asked(self, message: str) -> None:
        self._asking = False
        self.query_one("#override-reason", Input).focus()
        self.query_one("#override-message", Static).update(message)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CounterScreen(TagPanelHost, ClerkScreen):
    BINDINGS = [
        *TAG_BINDINGS,
        Binding("escape", "back", N_("Back"), id="counter.back"),
        Binding("enter", "continue", N_("Continue"), id="counter.continue"),
        Binding("enter", "lodge", N_("Lodge"), id="counter.lodge"),
        Binding("enter", "payment", N_("To payment"), id="counter.payment"),
        Binding("down", "next_field", N_("Next field"), show=False, id="counter.next_field"),
        Binding(
            "up", "previous_field", N_("Previous field"), show=False, id="counter.previous_field"
        ),
        Binding("ctrl+n", "new_application", N_("Without tag"), id="counter.new"),
        Binding("ctrl+r", "read_card", N_("Read card"), id="counter.read_card"),
        *(_case_binding(i, case) for i, case in enumerate(CASES)),
        Binding("n", "service('normal')", N_("Normal"), show=False, id="counter.service_normal"),
        Binding("e", "service('express')", N_("Express"), show=False, id="counter.service_express"),
        Binding(
            "s",
            "service('special-express')",
            N_("Special express"),
            show=False,
            id="counter.service_special_express",
        ),
        Binding("x", "external", N_("External service"), show=False, id="counter.external"),
        Binding("o", "mark('original-seen')", N_("Original"), id="counter.mark_original"),
        Binding("c", "mark('copy-received')", N_("Copy"), id="counter.mark_copy"),
        Binding("m", "mark('missing')", N_("Missing"), id="counter.mark_missing"),
        Binding("u", "mark('pending')", N_("To check"), show=False, id="counter.mark_pending"),
        Binding("v", "override", N_("Override"), id="counter.override"),
        Binding("b", "brief_report", N_("Brief report"), id="counter.brief_report"),
    ]
    CSS = """
    #counter-context { height: 1; padding: 0 1; background: $surface; }
    #counter-body { height: 1fr; padding: 0 1; }
    #counter-body > * { height: 1fr; }
    .step-title { height: 1; text-style: bold; color: $accent; }
    .hint { height: auto; color: $text-muted; margin: 0; }
    .field { height: 1; margin-bottom: 1; }
    .field Label { width: 30; }
    .field Input { width: 26; height: 1; border: none; padding: 0 1; background: $panel; }
    .field Input:focus { background: $primary-darken-2; }
    .field ChoiceField { width: 36; }
    .field .after { width: 1fr; padding-left: 1; color: $text-muted; }
    #step-facts .field { margin-bottom: 0; }
    .message { height: auto; min-height: 1; color: $warning; }
    .message.-error { color: $error; }
    .reason { height: auto; min-height: 2; color: $text-muted; }
    #call-drafts { height: auto; max-height: 8; }
    #identify-input { width: 40; }
    #identify-matches { height: auto; max-height: 8; }
    #identify-new { height: auto; }
    #identify-person, #case-history { height: auto; }
    #case-choices { height: auto; }
    #case-list { width: 1fr; height: auto; max-height: 8; border: none; padding: 0;
                 background: $surface; }
    #case-list:focus { background: $surface; }
    #case-service { width: 28; height: auto; padding-left: 2; }
    #review-body { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.step = "call"
        self.draft: Draft | None = None
        self.lodged: Lodged | None = None
        self.review_data: Review | None = None
        self.case_choice = "renewal"
        self.service_choice = "normal"
        self.external_choice = False
        self.busy = False
        self._awaiting_call = False
        self._filled_for: int | None = None
        self.desk: dict[str, Asked] = {}  # what the supervisor's desk said, by item code

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        yield StepBar(id="counter-steps")
        yield Static(id="counter-context", markup=False)
        with ContentSwitcher(id="counter-body", initial="step-call"):
            with Vertical(id="step-call"):
                yield TagPanel()
                yield Static(id="call-drafts-title", classes="step-title", markup=False)
                yield DataTable(id="call-drafts", cursor_type="row", zebra_stripes=True)
                yield Static(id="call-hint", classes="hint", markup=False)
                yield Static(id="call-message", classes="message", markup=False)
            with VerticalScroll(id="step-identify"):
                yield Static(id="identify-title", classes="step-title", markup=False)
                with Horizontal(classes="field"):
                    yield Input(id="identify-input", max_length=60)
                yield Static(id="identify-message", classes="message", markup=False)
                yield DataTable(id="identify-matches", cursor_type="row", zebra_stripes=True)
                with Vertical(id="identify-new"):
                    yield from self._field("new-zh", Input(id="new-zh", max_length=30))
                    yield from self._field("new-latin", Input(id="new-latin", max_length=120))
                    yield from self._field("new-born", Input(id="new-born", max_length=12))
                    yield from self._field("new-sex", ChoiceField("sex", ("M", "F"), id="new-sex"))
                yield Static(id="identify-person", markup=False)
                yield Static(id="identify-hint", classes="hint", markup=False)
            with Vertical(id="step-case"):
                yield Static(id="case-title", classes="step-title", markup=False)
                with Horizontal(id="case-choices"):
                    yield OptionList(id="case-list")
                    yield Static(id="case-service", markup=False)
                yield Static(id="case-message", classes="message", markup=False)
                yield Static(id="case-history", markup=False)
            with VerticalScroll(id="step-facts"):
                yield Static(id="facts-title", classes="step-title", markup=False)
                yield from self._field(
                    "fact-born", Input(id="fact-born", max_length=12), after=True
                )
                yield from self._field(
                    "fact-expiry", Input(id="fact-expiry", max_length=12), after=True
                )
                from clerk.domain.intake import FACT_FIELDS, fact_choices

                for name in FACT_FIELDS:
                    yield from self._field(
                        f"fact-{name}", ChoiceField(name, fact_choices(name), id=f"fact-{name}")
                    )
                yield Static(id="facts-message", classes="message", markup=False)
                yield Static(id="facts-hint", classes="hint", markup=False)
            for step in ITEM_STEPS:
                with VerticalScroll(id=f"step-{step}"):
                    yield Static(id=f"{step}-title", classes="step-title", markup=False)
                    if step == "marital":
                        yield Static(id="marital-rules", classes="hint", markup=False)
                    if step == "minors":
                        yield from self._field("guardian-name", Input(id="guardian-name"))
                        yield from self._field(
                            "guardian-id", Input(id="guardian-id", max_length=24)
                        )
                        yield from self._field(
                            "guardian-relationship",
                            ChoiceField(
                                "relationship",
                                ("father", "mother", "guardian"),
                                id="guardian-relationship",
                            ),
                        )
                    yield DeskChecklistTable(id=f"{step}-items")
                    yield Static(id=f"{step}-reason", classes="reason", markup=False)
                    yield Static(id=f"{step}-hint", classes="hint", markup=False)
                    yield Static(id=f"{step}-message", classes="message", markup=False)
            with VerticalScroll(id="step-review", can_focus=True):
                yield Static(id="review-title", classes="step-title", markup=False)
                yield Static(id="review-body")
                yield Static(id="review-message", classes="message", markup=False)
        yield Footer(compact=True)

    def _field(self, key: str, widget, *, after: bool = False):
        """A labelled field in a row `#{key}-row` (label `#{key}-label`, note `#{key}-after`)."""
        children = [Label(id=f"{key}-label"), widget]
        if after:
            children.append(Static(id=f"{key}-after", classes="after", markup=False))
        yield Horizontal(*children, classes="field", id=f"{key}-row")

    def on_mount(self) -> None:
        self._label_everything()
        drafts = self.query_one("#call-drafts", DataTable)
        drafts.add_column(_("Applicant"), key="name", width=24)
        drafts.add_column(_("ID number"), key="id", width=10)
        drafts.add_column(_("Case"), key="case", width=12)
        drafts.add_column(_("Step"), key="step", width=9)
        drafts.add_column(_("Begun"), key="begun", width=12)
        matches = self.query_one("#identify-matches", DataTable)
        matches.add_column(_("Name"), key="name", width=30)
        matches.add_column(_("ID number"), key="id", width=11)
        matches.add_column(_("Born"), key="born", width=10)
        self.query_one("#identify-matches").display = False
        self.query_one("#identify-new").display = False
        self.go("call")
        from clerk.domain.intake import warm_up

        self.call_service(warm_up, self.clerk.ctx.today(), group="warm-up")
        every(self, DESK_POLL_SECONDS, self._poll_desk)

    def _label_everything(self) -> None:
        """Every fixed text of the screen, in the clerk's language: `#id` → text."""
        mark_keys = _("O original · C copy · M missing · U to check · V override · Enter continues")
        texts = {
            "new-zh-label": _("Name in Chinese"),
            "new-latin-label": _("Name in Latin letters"),
            "new-born-label": _("Date of birth"),
            "new-sex-label": _("Sex"),
            "fact-born-label": _("Date of birth"),
            "fact-expiry-label": _("Card expiry (printed on it)"),
            "guardian-name-label": _("Guardian's name"),
            "guardian-id-label": _("Guardian's document number"),
            "guardian-relationship-label": _("Relationship"),
            **{f"fact-{name}-label": _(label) for name, label in FACT_LABELS.items()},
            "call-drafts-title": _("Your drafts to resume"),
            "identify-title": _("Who is the applicant?"),
            "case-title": _("The case and the service"),
            "facts-title": _("Facts of the case (only those that matter)"),
            "checklist-title": _("Documents: mark each one"),
            "marital-title": _("Marital status evidence"),
            "minors-title": _("A minor: the parent or guardian"),
            "review-title": _("Review: Enter lodges the application"),
            "call-hint": _("F5 next tag · Enter resumes a draft · Ctrl+N without a tag"),
            "identify-hint": _("Enter looks it up · Ctrl+R reads the card · Esc back to the call"),
            "facts-hint": _(
                "↑↓ move · ←→ or a letter change a value · Enter saves and continues · Esc back"
            ),
            **{f"{step}-hint": mark_keys for step in ITEM_STEPS},
        }
        for key, text in texts.items():
            self.query_one(f"#{key}", Static).update(text)  # a Label is a Static too
        for key in ("new-born", "fact-born", "fact-expiry"):
            self.query_one(f"#{key}", Input).placeholder = _("YYYY-MM-DD")
        self.query_one("#identify-input", Input).placeholder = _("ID card number or name")
        self.query_one("#case-list", OptionList).add_options(
            [Option(f"{i + 1}  {case_label(case)}", id=case) for i, case in enumerate(CASES)]
        )

    # -- where we are ----------------------------------------------------------------------------
    @property
    def steps(self) -> tuple[str, ...]:
        return self.draft.steps if self.draft is not None else FIRST_STEPS

    @property
    def lang(self) -> str:
        return self.clerk.language

    def go(self, step: str) -> None:
        self.step = step
        self.query_one(ContentSwitcher).current = f"step-{step}"
        getattr(self, f"_enter_{step}")()
        self._show_bars()
        self.refresh_bindings()

    def _show_bars(self) -> None:
        self.query_one(StepBar).show(self.steps, self.step, done_all=self.lodged is not None)
        line = Text(no_wrap=True, overflow="ellipsis")
        tag = self._tag_code() or (self.draft.tag_code if self.draft else "")
        if tag:
            line.append(f"{tag} ", style="bold")
        d = self.draft
        if d is None:
            line.append(_("No applicant yet"), style="dim")
        else:
            a = d.applicant
            line.append(" ".join(n for n in (a.name_zh, a.name_latin) if n), style="bold")
            line.append(f" · {a.id_number}")
            age = d.facts.age
            if age is not None:
                line.append(" · " + _("age {n}").format(n=age))
            line.append(f" · {case_label(d.facts.case)} · {service_label(d.facts.service)}")
            if d.stale:
                line.append(" · " + _("draft from {day}").format(day=d.created_on), style="yellow")
        if self.lodged is not None:
            line.append(" · " + _("lodged {number}").format(number=self.lodged.number), "green")
        self.query_one("#counter-context", Static).update(line)

    def say(self, step: str, message: str, *, error: bool = True) -> None:
        target = self.query_one(f"#{step}-message", Static)
        target.set_class(error and bool(message), "-error")
        target.update(message)

    def run(self, step: str, fn, *args: Any, done, or_else=None, **kwargs: Any) -> None:
        """Call a service for `step`; its message line shows errors (or `or_else` gets them);
        one call at a time."""
        if self.busy:
            return
        self.busy = True
        self.say(step, _("Working…"), error=False)

        def ok(result: Any) -> None:
            self.busy = False
            self.say(step, "")
            done(result)

        def failed(message: str) -> None:
            self.busy = False
            self.say(step, message)
            if or_else is not None:
                or_else(message)

        self.call_service(fn, *args, on_done=ok, on_error=failed, **kwargs)

    # -- the tag (the one place that knows the queue's panel) ------------------------------------
    def _tag_view(self) -> TagView | None:
        return self.query_one(TagPanel).view

    def _tag_code(self) -> str:
        view = self._tag_view()
        return view.code if view is not None and view.status in ("called", "serving") else ""

    def action_tag(self, what: str) -> None:
        # only a tag called by F5 starts a new applicant (nobody waiting: no call comes)
        self._awaiting_call = what == "call_next"
        super().action_tag(what)

    def on_tag_panel_changed(self, event: TagPanel.Changed) -> None:
        view = event.view
        if self._awaiting_call and view is not None and view.status == "called":
            self._awaiting_call = False
            appointment = view.appointment
            self.new_flow(appointment.id_number if appointment else "")
        else:
            self._show_bars()

    def _serving(self) -> None:
        """The applicant is at the counter: the called tag is being served."""
        panel = self.query_one(TagPanel)
        if panel.can("serve"):
            panel.do("serve")

    # -- keys ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        step, lodged = self.step, self.lodged is not None
        if action == "tag":
            if step != "call" and not lodged and parameters[0] not in TAG_KEYS_OUTSIDE_CALL:
                return False
            return super().check_action(action, parameters)
        rules = {
            "continue": step != "review",
            "lodge": step == "review" and not lodged,
            "payment": step == "review" and lodged,
            "new_application": step == "call",
            "next_field": step in FORM_STEPS,
            "previous_field": step in FORM_STEPS,
            "read_card": step == "identify",
            "case": step == "case",
            "service": step == "case",
            "external": step == "case",
            "mark": self._table() is not None,
            "override": self._table() is not None,
            "brief_report": step == "marital"
            and self.draft is not None
            and self.draft.asks_death_certificate,
        }
        return rules.get(action, True)

    def on_descendant_focus(self, _event) -> None:
        self.refresh_bindings()

    def action_next_field(self) -> None:
        self.focus_next()

    def action_previous_field(self) -> None:
        self.focus_previous()

    def action_back(self) -> None:
        if self.step == "call":
            self.app.pop_screen()
            return
        if self.lodged is not None:
            self._reset()
            self.go("call")
            return
        steps = self.steps
        index = steps.index(self.step) if self.step in steps else 1
        self.go(steps[max(0, index - 1)])

    def action_continue(self) -> None:
        handler = {
            "call": self.new_flow,
            "identify": self._submit_identify,
            "case": lambda: self._save_case(self._highlighted_case()),
            "facts": self._save_facts,
            "checklist": lambda: self._save_step("checklist"),
            "marital": lambda: self._save_step("marital"),
            "minors": self._save_guardian,
        }.get(self.step)
        if handler is not None:
            handler()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_continue()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "call-drafts":
            self._resume(int(str(event.row_key.value)))
        elif event.data_table.id == "identify-matches":
            self._start(int(str(event.row_key.value)))
        else:
            self.action_continue()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if isinstance(event.data_table, ChecklistTable):
            self._show_reason(event.data_table)

    # -- call ------------------------------------------------------------------------------------
    def _reset(self) -> None:
        self.draft = None
        self.lodged = None
        self.review_data = None
        self._filled_for = None
        self.desk = {}

    def _enter_call(self) -> None:
        from clerk.domain.intake import my_drafts

        self.call_service(
            my_drafts, self.clerk.ctx, self.clerk.actor, on_done=self._show_drafts, group="drafts"
        )

    def _show_drafts(self, rows) -> None:
        table = self.query_one("#call-drafts", DataTable)
        table.clear()
        for row in rows:
            begun = Text(row.created_on.isoformat() if row.created_on else "")
            if row.stale:
                begun = Text("⚠ " + begun.plain, style="yellow")
            table.add_row(
                " ".join(n for n in (row.name_zh, row.name_latin) if n),
                row.id_number,
                case_label(row.case),
                _(STEP_LABELS.get(row.step, row.step)),
                begun,
                key=str(row.id),
            )
        table.display = bool(rows)
        self.query_one("#call-drafts-title").display = bool(rows)
        if rows and self.step == "call":
            table.focus()

    def new_flow(self, id_number: str = "") -> None:
        """A new applicant at the counter (after a call, or without a tag)."""
        self._reset()
        field = self.query_one("#identify-input", Input)
        field.value = id_number
        self.query_one("#identify-matches").display = False
        self.query_one("#identify-new").display = False
        self.query_one("#identify-person", Static).update("")
        self.go("identify")
        if id_number:
            self.say("identify", _("Booked ID number {n}: Enter looks it up.").format(n=id_number),
                     error=False)  # fmt: skip

    def action_new_application(self) -> None:
        self.new_flow()

    def _resume(self, app_id: int) -> None:
        from clerk.domain.intake import load_draft

        self.run(
            "call", load_draft, self.clerk.ctx, self.clerk.actor, app_id, done=self._take_draft
        )

    def _take_draft(self, draft: Draft) -> None:
        self.lodged = None
        if self.draft is None or self.draft.id != draft.id:
            self.desk = {}
        self.draft = draft
        if self._filled_for != draft.id:
            self._fill_forms(draft)
        self.go(draft.step)

    # -- identify --------------------------------------------------------------------------------
    def _enter_identify(self) -> None:
        self.query_one("#identify-input", Input).focus()
        if self.draft is not None:
            self._show_person(self.draft.applicant, self.draft.history)

    def action_read_card(self) -> None:
        self.read_card()

    def read_card(self) -> None:
        """Read the presented card's chip and look its document number up as if typed."""
        from clerk.domain.cards import read_card
        from clerk.widgets.card_panel import app_reader

        app = self.app

        def done(card) -> None:
            if card.holder is None:
                self.say("identify", _("This card is blank: type the ID number."))
                return
            self.query_one("#identify-input", Input).value = card.holder.document_number
            self._submit_identify()

        self.run("identify", lambda: read_card(app_reader(app)), done=done)

    def _submit_identify(self) -> None:
        focused = self.focused
        if focused is not None and focused.id in ("new-zh", "new-latin", "new-born", "new-sex"):
            self._create_applicant()
            return
        from clerk.domain.intake import identify

        text = self.query_one("#identify-input", Input).value
        if not text.strip():
            self.say("identify", _("Type the ID card number or a name."))
            return
        self.run("identify", identify, self.clerk.ctx, text, done=self._identified)

    def _identified(self, found: Identified) -> None:
        matches = self.query_one("#identify-matches", DataTable)
        new = self.query_one("#identify-new")
        matches.display = bool(found.matches)
        new.display = bool(found.new_id_number)
        if found.applicant is not None:
            self._start(found.applicant.id)
        elif found.matches:
            matches.clear()
            for row in found.matches:
                born = row.date_of_birth.isoformat() if row.date_of_birth else ""
                names = " ".join(n for n in (row.name_zh, row.name_latin) if n)
                matches.add_row(names, row.id_number, born, key=str(row.id))
            matches.focus()
            self.say("identify", _("{n} found: choose with ↑↓ and Enter.").format(
                n=len(found.matches)), error=False)  # fmt: skip
        elif found.new_id_number:
            self.query_one("#identify-input", Input).value = found.new_id_number
            self.query_one("#new-zh", Input).focus()
            self.say(
                "identify",
                _("{n} is not on record: a new applicant. Type the names, the date of birth and "
                  "the sex; Enter adds them.").format(n=found.new_id_number),
                error=False,
            )  # fmt: skip
        else:
            self.say("identify", _("Nobody by that name: type the ID card number instead."))

    def _create_applicant(self) -> None:
        from clerk.domain.intake import create_applicant

        def created(person) -> None:
            self.query_one("#identify-new").display = False
            self._start(person.id)

        self.run(
            "identify",
            create_applicant,
            self.clerk.ctx,
            self.clerk.actor,
            self.query_one("#identify-input", Input).value,
            name_zh=self.query_one("#new-zh", Input).value,
            name_latin=self.query_one("#new-latin", Input).value,
            date_of_birth=self.query_one("#new-born", Input).value,
            sex=self.query_one("#new-sex", ChoiceField).value,
            done=created,
        )

    def _start(self, applicant_id: int) -> None:
        from clerk.domain.intake import start_draft

        def started(draft: Draft) -> None:
            self._serving()
            self._take_draft(draft)

        self.run(
            "identify",
            start_draft,
            self.clerk.ctx,
            self.clerk.actor,
            applicant_id,
            self._tag_code() or None,
            done=started,
        )

    def _show_person(self, person, history) -> None:
        self.query_one("#identify-person", Static).update(self._person_text(person, history))

    def _person_text(self, person, history) -> Text:
        text = Text()
        text.append(" ".join(n for n in (person.name_zh, person.name_latin) if n), style="bold")
        born = person.date_of_birth.isoformat() if person.date_of_birth else "?"
        text.append(f"  {person.id_number} · " + _("born {day}").format(day=born) + "\n")
        for card in history.cards[:3]:
            expiry = card.expires_on.isoformat() if card.expires_on else _("does not expire")
            text.append(
                _("Card {version}: issued {issued}, expires {expiry} ({status})").format(
                    version=card.version or "?",
                    issued=card.issued_on.isoformat(),
                    expiry=expiry,
                    status=value_label(card.status),
                )
                + "\n",
                style="" if card.status == "valid" else "dim",
            )
        if not history.cards:
            text.append(_("No card on record.") + "\n", style="dim")
        count = len(history.surcharges)
        text.append(
            _("Non-presentation surcharges: {n}; a new one would be the {next}.").format(
                n=count, next=_ordinal(history.next_surcharge)
            ),
            style="yellow" if count else "dim",
        )
        return text

    # -- case ------------------------------------------------------------------------------------
    def _enter_case(self) -> None:
        options = self.query_one("#case-list", OptionList)
        options.highlighted = CASES.index(self.case_choice)
        options.focus()
        self._show_service()
        if self.draft is not None:
            self.query_one("#case-history", Static).update(
                self._person_text(self.draft.applicant, self.draft.history)
            )

    def _show_service(self) -> None:
        text = Text()
        text.append(_("Service level") + "\n", style="bold")
        for code in SERVICES:
            chosen = code == self.service_choice
            text.append(f"[{SERVICE_KEYS[code].upper()}] ", style="bold")
            text.append(("● " if chosen else "○ ") + service_label(code) + "\n",
                        style="bold" if chosen else "")  # fmt: skip
        text.append("[X] ", style="bold")
        text.append(_("External service: {yes}").format(yes=value_label(self.external_choice)))
        self.query_one("#case-service", Static).update(text)

    def _highlighted_case(self) -> str:
        option = self.query_one("#case-list", OptionList).highlighted_option
        return option.id if option is not None and option.id else self.case_choice

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._save_case(str(event.option.id))

    def action_case(self, case: str) -> None:
        self.query_one("#case-list", OptionList).highlighted = CASES.index(case)
        self._save_case(case)

    def action_service(self, service: str) -> None:
        self.service_choice = service
        self._show_service()

    def action_external(self) -> None:
        self.external_choice = not self.external_choice
        self._show_service()

    def _save_case(self, case: str) -> None:
        from clerk.domain.intake import save_case

        if self.draft is None:
            return
        self.case_choice = case
        self.run(
            "case",
            save_case,
            self.clerk.ctx,
            self.clerk.actor,
            self.draft.id,
            case,
            self.service_choice,
            self.external_choice,
            done=self._saved,
        )

    def _saved(self, draft: Draft) -> None:
        self.draft = draft
        self.go(draft.step)

    # -- facts -----------------------------------------------------------------------------------
    def _fill_forms(self, draft: Draft) -> None:
        """Put a draft's stored values into every step's fields (a new or resumed draft)."""
        from clerk.domain.intake import FACT_FIELDS

        self._filled_for = draft.id
        self.case_choice = draft.facts.case
        self.service_choice = draft.facts.service
        self.external_choice = draft.facts.external_service
        born = draft.applicant.date_of_birth
        self.query_one("#fact-born", Input).value = born.isoformat() if born else ""
        expiry = draft.card_expires_on
        self.query_one("#fact-expiry", Input).value = expiry.isoformat() if expiry else ""
        for name in FACT_FIELDS:
            self.query_one(f"#fact-{name}", ChoiceField).set_value(getattr(draft.facts, name))
        self.query_one("#guardian-name", Input).value = draft.guardian_name
        self.query_one("#guardian-id", Input).value = draft.guardian_id_number
        relation = self.query_one("#guardian-relationship", ChoiceField)
        relation.set_value(draft.guardian_relationship or "father")

    def _enter_facts(self) -> None:
        self.query_one("#fact-expiry-row").display = bool(self.draft and self.draft.asks_expiry)
        self._show_relevant()
        self._show_age()
        self.query_one("#fact-born", Input).focus()

    def _form_facts(self) -> dict[str, Any]:
        from clerk.domain.intake import FACT_FIELDS

        return {name: self.query_one(f"#fact-{name}", ChoiceField).value for name in FACT_FIELDS}

    def _show_relevant(self) -> None:
        from clerk.domain.intake import FACT_FIELDS, relevant_facts

        if self.draft is None:
            return
        facts = self.draft.facts.with_changes(**self._form_facts())
        relevant = relevant_facts(facts, self.clerk.ctx.today())  # pure and quick: no database
        for name in FACT_FIELDS:
            self.query_one(f"#fact-{name}-row").display = name in relevant

    def on_choice_field_changed(self, event: ChoiceField.Changed) -> None:
        if (event.field.id or "").startswith("fact-"):
            self._show_relevant()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "fact-born":
            self._show_age()

    def _show_age(self) -> None:
        from clerk.domain.intake import age_on, parse_day
        from clerk.errors import UsageError

        text = ""
        try:
            born = parse_day(self.query_one("#fact-born", Input).value, "")
        except UsageError:
            born = None
        if born is not None:
            text = _("age {n}").format(n=age_on(born, self.clerk.ctx.today()))
        self.query_one("#fact-born-after", Static).update(text)
        card = self.draft.history.current_card if self.draft else None
        on_record = ""
        if card is not None and card.expires_on is not None:
            on_record = _("on record: {day}").format(day=card.expires_on.isoformat())
        self.query_one("#fact-expiry-after", Static).update(on_record)

    def _save_facts(self) -> None:
        from clerk.domain.intake import save_facts

        if self.draft is None:
            return
        relevant = {
            name: value
            for name, value in self._form_facts().items()
            if self.query_one(f"#fact-{name}-row").display
        }
        self.run(
            "facts",
            save_facts,
            self.clerk.ctx,
            self.clerk.actor,
            self.draft.id,
            relevant,
            date_of_birth=self.query_one("#fact-born", Input).value,
            card_expires_on=self.query_one("#fact-expiry", Input).value
            if self.draft.asks_expiry
            else None,
            done=self._saved,
        )

    # -- checklist, marital evidence, minor ------------------------------------------------------
    def _enter_checklist(self) -> None:
        self._enter_items("checklist")

    def _enter_marital(self) -> None:
        """The seed's rules for the applicant's marital status, as the engine states them."""
        self._enter_items("marital")
        items = self.draft.items_in("marital") if self.draft else ()
        rules = Table.grid(padding=(0, 1), expand=True)
        rules.add_column(width=1)
        rules.add_column(ratio=1, overflow="fold")  # long Chinese lines fold in the column
        for item in items:
            rules.add_row("•", item.reason_for(self.lang))
        if self.draft is not None and self.draft.asks_death_certificate:
            refused = _("B: the applicant offers a brief report of death — it is refused as proof.")
            rules.add_row("", Text(refused, style="bold yellow"))
        self.query_one("#marital-rules", Static).update(rules)

    def _enter_minors(self) -> None:
        self._enter_items("minors", focus=False)
        self.query_one("#guardian-name", Input).focus()

    def _enter_items(self, step: str, *, focus: bool = True) -> None:
        table = self.query_one(f"#{step}-items", DeskChecklistTable)
        items = self.draft.items_in(step) if self.draft else ()
        table.desk = self.desk
        table.show(items, self.lang)
        table.display = bool(items)
        if not items:
            self.say(step, _("Nothing to check here for this case: Enter continues."), error=False)
        if focus and items:
            table.focus()
        self._show_reason(table)
        if items:
            self._refresh_desk()

    # -- the supervisor's desk: overrides asked for ---------------------------------------------
    def _refresh_desk(self) -> None:
        """Look at what the supervisor's desk said about this draft's items, with the draft as
        it stands now (an override approved at the desk shows as overridden)."""
        draft, step = self.draft, self.step
        if draft is None or self.lodged is not None:
            return
        self.call_service(
            desk_and_draft,
            self.clerk.ctx,
            self.clerk.actor,
            draft.id,
            on_done=lambda answer: self._desk_answered(answer, draft),
            on_error=lambda message: self.say(step, message),
            group="desk",
        )

    def _desk_answered(self, answer: tuple[dict[str, Asked], Draft], asked_for: Draft) -> None:
        desk, fresh = answer
        if self.draft is not asked_for or self.lodged is not None:
            return  # a mark or a step was saved meanwhile: its draft is the newer one
        self.desk = desk
        self.draft = fresh
        if self.step in ITEM_STEPS:
            table = self.query_one(f"#{self.step}-items", DeskChecklistTable)
            table.desk = desk
            table.show(fresh.items_in(self.step), self.lang, keep=True)
            self._show_reason(table)
        self._show_bars()

    def _poll_desk(self) -> None:
        """Now and then, while the desk has not answered about an item of this draft."""
        if (
            self.step in ITEM_STEPS
            and not self.busy
            and any(asked.status == "pending" for asked in self.desk.values())
        ):
            self._refresh_desk()

    def _desk_notes(self, items) -> str:
        """What the desk said about these items (those still holding up lodging)."""
        lines = []
        for item in items:
            note = desk_note(self.desk.get(item.code))
            if note:
                lines.append(f"{item.title_for(self.lang)}: {note}")
        return "\n".join(lines)

    def _table(self) -> ChecklistTable | None:
        focused = self.focused
        if isinstance(focused, ChecklistTable) and focused.current is not None:
            return focused
        return None

    def _show_reason(self, table: ChecklistTable) -> None:
        item = table.current
        step = (table.id or "").removesuffix("-items")
        text = Text()
        if item is not None and step != "marital":  # the marital rules are shown above
            text.append(item.reason_for(self.lang) + "\n", style="italic")
        if item is not None and item.note:
            text.append(_(item.note), style="bold red")
        asked = self.desk.get(item.code) if item is not None and not item.satisfied else None
        note = desk_note(asked)
        if note:
            if text.plain and not text.plain.endswith("\n"):
                text.append("\n")
            text.append(note, style="bold red" if asked.status == "refused" else "yellow")
        self.query_one(f"#{step}-reason", Static).update(text)

    def action_mark(self, state: str) -> None:
        from clerk.domain.intake import mark_item

        table = self._table()
        if table is None or self.draft is None:
            return
        step, code = self.step, table.current.code
        self.run(
            step,
            mark_item,
            self.clerk.ctx,
            self.clerk.actor,
            self.draft.id,
            code,
            state,
            done=lambda draft: self._marked(draft, table, code),
        )

    def _marked(self, draft: Draft, table: ChecklistTable, code: str) -> None:
        self.draft = draft
        step = (table.id or "").removesuffix("-items")
        table.show(draft.items_in(step), self.lang, after=code)
        self._show_reason(table)
        self._show_bars()

    def action_brief_report(self) -> None:
        from clerk.domain.intake import refuse_brief_report

        if self.draft is None:
            return

        def refused(draft: Draft) -> None:
            self._marked(draft, self.query_one("#marital-items", ChecklistTable), "")
            self.say(
                "marital",
                _("Refused: a brief report of death is not accepted. The spouse's death "
                  "certificate is still missing."),
            )  # fmt: skip

        self.run(
            "marital", refuse_brief_report, self.clerk.ctx, self.clerk.actor, self.draft.id,
            done=refused,
        )  # fmt: skip

    def action_override(self) -> None:
        table = self._table()
        if table is None or self.draft is None:
            return
        if not table.current.holds_lodging:
            self.say(self.step, _("This item does not hold up lodging: nothing to override."))
            return
        table_ref = table
        title = table.current.title_for(self.lang)

        def done(result) -> None:
            from clerk.domain.approvals import Request

            table_ref.focus()
            if result is None:
                return
            if isinstance(result, Request):  # F9: the supervisor's desk was asked
                self.say(
                    self.step,
                    _(
                        "Asked the supervisor's desk about {item}; you can go on with the "
                        "other items."
                    ).format(item=title),
                    error=False,
                )
                self._refresh_desk()
                return
            draft = result
            self._marked(draft, table_ref, table_ref.current.code if table_ref.current else "")
            self.say(self.step, _("Override approved and recorded."), error=False)

        self.app.push_screen(OverrideModal(self.draft.id, table.current, self.lang), done)

    def _save_step(self, step: str) -> None:
        from clerk.domain.intake import set_step

        if self.draft is not None:
            self.run(
                step, set_step, self.clerk.ctx, self.clerk.actor, self.draft.id, step,
                done=self._saved,
            )  # fmt: skip

    def _save_guardian(self) -> None:
        from clerk.domain.intake import save_guardian

        if self.draft is None:
            return
        self.run(
            "minors",
            save_guardian,
            self.clerk.ctx,
            self.clerk.actor,
            self.draft.id,
            self.query_one("#guardian-name", Input).value,
            self.query_one("#guardian-id", Input).value,
            self.query_one("#guardian-relationship", ChoiceField).value,
            done=self._saved,
        )

    # -- review and lodging ----------------------------------------------------------------------
    def _enter_review(self) -> None:
        self.query_one("#step-review").focus()
        if self.lodged is not None or self.draft is None:
            return
        self.query_one("#review-body", Static).update("")
        self.run(
            "review",
            review_and_desk,
            self.clerk.ctx,
            self.clerk.actor,
            self.draft.id,
            done=self._reviewed,
        )

    def _reviewed(self, answer: tuple[Review, dict[str, Asked]]) -> None:
        shown, self.desk = answer
        self.review_data = shown
        self.draft = shown.draft
        self._show_bars()
        self.query_one("#review-body", Static).update(self._review_table(shown))
        blockers = shown.draft.blockers
        if blockers:
            message = _("{n} document(s) still block lodging: Esc goes back to them.").format(
                n=len(blockers)
            )
            notes = self._desk_notes(blockers)
            self.say("review", f"{message}\n{notes}" if notes else message)

    def _review_table(self, shown: Review) -> Table:
        """Label, text and amount columns: applicant, case, checklist, fees, collection."""
        from clerk.domain.policy import format_avos

        d, lang = shown.draft, self.lang
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(width=11, style="bold", no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        grid.add_column(justify="right", no_wrap=True)

        def rows(label: str, lines: list[tuple[Text | str, str]]) -> None:
            for i, (text, amount) in enumerate(lines):
                grid.add_row(label if i == 0 else "", text, amount)

        a = d.applicant
        born = a.date_of_birth.isoformat() if a.date_of_birth else "?"
        names = " ".join(n for n in (a.name_zh, a.name_latin) if n)
        rows(_("Applicant"), [(f"{names} · {a.id_number} · " + _("born {day}").format(day=born),
                               "")])  # fmt: skip
        case = f"{case_label(d.facts.case)} · {service_label(d.facts.service)}"
        if d.facts.external_service:
            case += " · " + _("external service")
        rows(_("Case"), [(case, "")])
        if d.guardian_name:
            relation = value_label(d.guardian_relationship)
            rows(_("Guardian"), [(f"{d.guardian_name} · {d.guardian_id_number} · {relation}", "")])
        marks = []
        for item in d.items:
            line = mark_text(item.state)
            line.truncate(16, pad=True)
            line.append(item.title_for(lang), style="bold red" if item.holds_lodging else "")
            if not item.blocking:
                line.append("  (" + _("does not block") + ")", style="dim")
            marks.append((line, ""))
        rows(_("Checklist"), marks)
        fees: list[tuple[Text | str, str]] = [
            (line.label_for(lang), format_avos(line.amount_avos)) for line in shown.quote.lines
        ]
        total = Text(_("Total") + f" {shown.quote.currency}", style="bold")
        fees.append((total, f"[b]{format_avos(shown.quote.total_avos)}[/b]"))
        rows(_("Fees"), fees)
        collection = _("{day} ({n} working days)").format(
            day=shown.collection.collection_date.isoformat(), n=shown.collection.working_days
        )
        rows(_("Collection"), [(collection, "")])
        return grid

    def action_lodge(self) -> None:
        from clerk.domain.intake import lodge

        if self.draft is None or self.lodged is not None:
            return
        blockers = self.draft.blockers

        def refused(message: str) -> None:  # with what the supervisor's desk said, if anything
            notes = self._desk_notes(blockers)
            if notes:
                self.say("review", f"{message}\n{notes}")

        self.run("review", lodge, self.clerk.ctx, self.clerk.actor, self.draft.id,
                 done=self._lodged, or_else=refused)  # fmt: skip

    def _lodged(self, lodged: Lodged) -> None:
        self.lodged = lodged
        self._show_bars()
        self.query_one("#review-title", Static).update(
            _("Application {number} lodged").format(number=lodged.number)
        )
        self.refresh_bindings()
        self.continue_to_payment(lodged)

    def continue_to_payment(self, lodged: Lodged) -> None:
        """After lodging the flow goes on to payment. Cashier issue: open the payment of
        `lodged.number` (amount due `lodged.total_avos`) here."""
        from clerk.domain.policy import format_avos

        self.say(
            "review",
            _("Lodged {number} — continue to payment: MOP {amount}. Collection from {day}.").format(
                number=lodged.number,
                amount=format_avos(lodged.total_avos),
                day=lodged.promised_on.isoformat(),
            ),
            error=False,
        )

    def action_payment(self) -> None:
        """Enter after lodging: the payment screen for this application."""
        if self.lodged is None:
            return
        from clerk.screens.cashier import CashierScreen

        lodged = self.lodged

        def paid(receipt: str | None) -> None:
            if receipt:
                self.say(
                    "review", _("Paid: receipt {receipt}.").format(receipt=receipt), error=False
                )
            else:
                self.continue_to_payment(lodged)

        self.app.push_screen(CashierScreen(lodged.application_id), callback=paid)


def _ordinal(n: int) -> str:
    return (
        _("{n}th time").format(n=n)
        if n > 3
        else {
            1: _("1st time"),
            2: _("2nd time"),
            3: _("3rd time"),
        }[n]
    )
