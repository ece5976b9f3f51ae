"""Pieces of the counter flow's screen: the step bar, a one-key choice field, and the words for
the policy's codes (cases, services, facts and their values) in the clerk's language."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from clerk.i18n import N_, _

STEP_LABELS = {
    "call": N_("Call"),
    "identify": N_("Identify"),
    "case": N_("Case"),
    "facts": N_("Facts"),
    "checklist": N_("Checklist"),
    "marital": N_("Marital"),
    "minors": N_("Minor"),
    "review": N_("Review"),
}
CASE_LABELS = {
    "renewal": N_("Renewal"),
    "loss": N_("Loss"),
    "damage": N_("Damaged card"),
    "data-change": N_("Change of personal data"),
    "to-permanent": N_("Non-permanent to permanent"),
    "foreign-permanent-renewal": N_("Foreign permanent resident"),
    "former-card-replacement": N_("Former (old) card replacement"),
    "director-request": N_("Request to the director"),
}
SERVICE_LABELS = {
    "normal": N_("Normal"),
    "express": N_("Express"),
    "special-express": N_("Special express"),
}
FACT_LABELS = {
    "marital": N_("Marital status"),
    "origin": N_("Applicant's origin"),
    "spouse_origin": N_("Spouse's origin"),
    "nationality": N_("Nationality"),
    "residence_authorisation": N_("Residence authorisation"),
    "talent_scheme": N_("Talent scheme (Law 7/2023)"),
    "original_presented": N_("Former card presented"),
    "foreign_language_docs": N_("Documents in another language"),
    "birth_record_changed": N_("Birth record changed"),
    "photo": N_("Photo"),
    "exemption": N_("Fee exemption claimed"),
}
VALUE_LABELS: dict[Any, str] = {
    True: N_("yes"),
    False: N_("no"),
    None: N_("none"),
    "single": N_("single"),
    "married": N_("married"),
    "divorced": N_("divorced"),
    "widowed": N_("widowed"),
    "macao": N_("Macao"),
    "mainland": N_("Mainland China"),
    "hong-kong": N_("Hong Kong"),
    "taiwan": N_("Taiwan"),
    "japan": N_("Japan"),
    "france": N_("France"),
    "portugal": N_("Portugal"),
    "other": N_("other"),
    "chinese": N_("Chinese"),
    "portuguese": N_("Portuguese"),
    "studio": N_("studio photo (12 months)"),
    "onsite": N_("taken on site"),
    "my-photo": N_("My Photo (Macao One Account)"),
    "unemployment": N_("unemployment"),
    "poverty": N_("poverty"),
    "disability": N_("disability"),
    "father": N_("father"),
    "mother": N_("mother"),
    "guardian": N_("legal guardian"),
    "M": N_("M"),
    "F": N_("F"),
    "valid": N_("valid"),
    "cancelled": N_("cancelled"),
    "lost": N_("lost"),
    "replaced": N_("replaced"),
}
MARK_LABELS = {
    "pending": N_("to check"),
    "original-seen": N_("original seen"),
    "copy-received": N_("copy received"),
    "missing": N_("missing"),
    "overridden": N_("overridden"),
}
MARK_SYMBOLS = {
    "pending": ("·", "dim"),
    "original-seen": ("✓", "bold green"),
    "copy-received": ("✓", "green"),
    "missing": ("✗", "bold red"),
    "overridden": ("⚑", "bold yellow"),
}


def value_label(value: Any) -> str:
    text = VALUE_LABELS.get(value)
    return _(text) if text is not None else str(value)


def case_label(case: str) -> str:
    return _(CASE_LABELS.get(case, case))


def service_label(service: str) -> str:
    return _(SERVICE_LABELS.get(service, service))


class StepBar(Static):
    """Where the clerk is: steps done, the current one, the steps left."""

    DEFAULT_CSS = """
    StepBar { height: 1; background: $panel; }
    """

    def show(self, steps: Sequence[str], current: str, *, done_all: bool = False) -> None:
        index = len(steps) if done_all else (steps.index(current) if current in steps else 0)
        width = max(20, self.size.width or self.app.size.width)
        # when the line is too long, the steps done shrink to a tick, the oldest first
        for shrunk in range(index + 1):
            line = self._line(steps, index, shrunk)
            if line.cell_len <= width:
                break
        self.update(line)

    @staticmethod
    def _line(steps: Sequence[str], index: int, shrunk: int) -> Text:
        line = Text(" ", no_wrap=True, overflow="ellipsis")
        for i, step in enumerate(steps):
            if i:
                line.append(" › ", style="dim")
            label = _(STEP_LABELS[step])
            if i < index:
                line.append(f"✓{i + 1}" if i < shrunk else f"✓ {label}", style="green")
            elif i == index:
                line.append(f" {i + 1} {label} ", style="bold reverse")
            else:
                line.append(f"{i + 1} {label}")
        line.append("   ")
        line.append(_("{n} left").format(n=max(0, len(steps) - index - 1)), style="italic")
        return line


class ChoiceField(Widget, can_focus=True):
    """One value out of a few, changed without a pop-up: ←/→ or Space step through them, a
    letter jumps to the next value whose label starts with it. Enter is left to the screen."""

    DEFAULT_CSS = """
    ChoiceField { height: 1; width: 1fr; padding: 0 1; background: $panel; }
    ChoiceField:focus { background: $primary; color: $text; text-style: bold; }
    """
    BINDINGS = [
        Binding("right,space", "step(1)", N_("Next value"), show=False, id="choice.next"),
        Binding("left", "step(-1)", N_("Previous value"), show=False, id="choice.previous"),
    ]
    value: reactive[Any] = reactive(None, init=False)

    class Changed(Message):
        def __init__(self, field: ChoiceField, value: Any):
            super().__init__()
            self.field = field
            self.value = value

        @property
        def control(self) -> ChoiceField:
            return self.field

    def __init__(self, name: str, choices: Sequence[Any], value: Any = None, **kwargs: Any):
        super().__init__(id=kwargs.pop("id", None), classes=kwargs.pop("classes", ""))
        self.field_name = name
        self.choices = tuple(choices)
        self.set_reactive(ChoiceField.value, value if value in self.choices else self.choices[0])

    def set_value(self, value: Any) -> None:
        """Set without announcing a change (loading a draft)."""
        self.set_reactive(ChoiceField.value, value if value in self.choices else self.choices[0])
        self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("‹ ", style="dim")
        text.append(value_label(self.value))
        text.append(" ›", style="dim")
        return text

    def watch_value(self, value: Any) -> None:
        self.post_message(self.Changed(self, value))

    def action_step(self, delta: int) -> None:
        index = self.choices.index(self.value)
        self.value = self.choices[(index + delta) % len(self.choices)]

    def on_key(self, event) -> None:
        char = event.character
        if not char or not char.isprintable() or char == " " or len(self.choices) < 2:
            return
        index = self.choices.index(self.value)
        ordered = self.choices[index + 1 :] + self.choices[: index + 1]
        for value in ordered:
            if value_label(value).casefold().startswith(char.casefold()):
                event.stop()
                event.prevent_default()
                self.value = value
                return
