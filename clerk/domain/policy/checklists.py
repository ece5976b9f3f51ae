"""The documents a case needs, from `data/policy/checklist.toml`.

Each entry of a version has a `code` (one of `CHECKLIST_CODES`), a `when` condition, a trilingual
`title` and `rule`, and `blocking`. Entries are read in file order; the first entry of a code
whose condition holds gives the item (so one code can have variants, e.g. per photo option).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clerk.domain.policy.codes import CHECKLIST_CODES, LANGUAGES, in_language
from clerk.domain.policy.conditions import Condition, read_condition
from clerk.domain.policy.facts import Facts
from clerk.domain.policy.loader import Node, Source, Text, Versioned, load, versioned
from clerk.domain.policy.today import or_today


@dataclass(frozen=True)
class ChecklistItem:
    """One document or step; `blocking`: the case cannot be lodged without it unless a
    supervisor overrides. `reason` is the English of `reasons` (rule and facts)."""

    code: str
    title: Text
    reason: str
    blocking: bool
    reasons: Text

    def title_for(self, lang: str) -> str:
        return in_language(self.title, lang)

    def reason_for(self, lang: str) -> str:
        return in_language(self.reasons, lang)


@dataclass(frozen=True)
class _Entry:
    code: str
    condition: Condition
    title: Text
    rule: Text
    blocking: bool


@dataclass(frozen=True)
class _Checklist:
    versions: Versioned[tuple[_Entry, ...]]
    because: Text  # how a reason names the facts: `{facts}`


def _read_entry(node: Node) -> _Entry:
    node.table(required=("code", "title", "rule", "blocking"), optional=("when",))
    return _Entry(
        code=node.child("code").choice(CHECKLIST_CODES),
        condition=read_condition(node.get("when")),
        title=node.child("title").text(),
        rule=node.child("rule").text(),
        blocking=node.child("blocking").boolean(),
    )


def _read_version(node: Node) -> tuple[_Entry, ...]:
    return tuple(_read_entry(item) for item in node.child("item").items())


def _read_checklist(source: Source) -> _Checklist:
    versions = versioned(source, _read_version, required=("item",), shared=("because",))
    root = source.root().table(required=("version", "because"))
    return _Checklist(versions=versions, because=root.child("because").text({"facts": ""}))


def rule_versions() -> Versioned[tuple[_Entry, ...]]:
    return load("checklist.toml", _read_checklist).versions


def checklist(facts: Facts, on: date | None = None) -> list[ChecklistItem]:
    """The items for `facts` under the rules in force on `on` (default: today in Macao)."""
    rules = load("checklist.toml", _read_checklist)
    items: list[ChecklistItem] = []
    given: set[str] = set()
    for entry in rules.versions.in_force(or_today(on)):
        if entry.code in given or not entry.condition.holds(facts):
            continue
        given.add(entry.code)
        explanation = entry.condition.explain(facts)
        reasons = {
            lang: entry.rule[lang]
            + (rules.because[lang].format(facts=explanation) if explanation else "")
            for lang in LANGUAGES
        }
        items.append(
            ChecklistItem(
                code=entry.code,
                title=entry.title,
                reason=reasons["en"],
                blocking=entry.blocking,
                reasons=reasons,
            )
        )
    return items
