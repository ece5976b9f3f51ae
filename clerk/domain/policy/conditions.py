"""`when = { … }`: the condition under which a checklist item or a fee line applies.

All tests of a condition must hold. A list-valued test holds when the fact is one of the listed
codes; a true/false test when the fact has that value. Special tests:

- `not_case = [...]`: the case is none of these;
- `age_below = N`: the applicant's age is stated and below N;
- `either_origin = [...]`: the applicant's or the spouse's origin is one of these.

`explain(facts)` says which facts made the condition hold, for the `reason` of an item.
"""

from __future__ import annotations

from dataclasses import dataclass

from clerk.domain.policy.codes import CASES, REGIONS
from clerk.domain.policy.facts import CHOICE_FACTS, Facts
from clerk.domain.policy.loader import Node

# true/false test → the attribute of `Facts` it reads (derived where one fact implies another)
_FLAG_TESTS = {
    "residence_authorisation": "subject_to_residence_authorisation",  # the talent scheme too
    "talent_scheme": "talent_scheme",
    "original_presented": "former_card_presented",  # never for a loss
    "foreign_language_docs": "foreign_language_docs",
    "birth_record_changed": "birth_record_changed",
    "external_service": "external_service",
}
_LIST_TESTS = {
    **{test: valid for test, (_, valid) in CHOICE_FACTS.items()},
    "not_case": CASES,
    "either_origin": REGIONS,
}
TEST_NAMES = (*_LIST_TESTS, "age_below", *_FLAG_TESTS)


def _name(test: str) -> str:
    return test.replace("_", "-")


@dataclass(frozen=True)
class Condition:
    """A parsed `when` table (empty: always holds)."""

    tests: tuple[tuple[str, object], ...] = ()

    def holds(self, facts: Facts) -> bool:
        return all(_holds(test, wanted, facts) for test, wanted in self.tests)

    def explain(self, facts: Facts) -> str:
        """The facts behind the condition, e.g. `case = loss; age = 15 < 18`."""
        return "; ".join(_explain(test, wanted, facts) for test, wanted in self.tests)


def _holds(test: str, wanted: object, facts: Facts) -> bool:
    if test in CHOICE_FACTS:
        return getattr(facts, test) in wanted  # type: ignore[operator]
    if test in _FLAG_TESTS:
        return getattr(facts, _FLAG_TESTS[test]) is wanted
    if test == "not_case":
        return facts.case not in wanted  # type: ignore[operator]
    if test == "either_origin":
        return facts.origin in wanted or facts.spouse_origin in wanted  # type: ignore[operator]
    assert test == "age_below"
    return facts.age is not None and facts.age < wanted  # type: ignore[operator]


def _explain(test: str, wanted: object, facts: Facts) -> str:
    if test in CHOICE_FACTS:
        return f"{_name(test)} = {getattr(facts, test)}"
    if test in _FLAG_TESTS:
        return f"{_name(test)} = {'yes' if getattr(facts, _FLAG_TESTS[test]) else 'no'}"
    if test == "not_case":
        return f"case = {facts.case}"
    if test == "either_origin":
        return "; ".join(
            f"{name} = {value}"
            for name, value in (("origin", facts.origin), ("spouse-origin", facts.spouse_origin))
            if value in wanted  # type: ignore[operator]
        )
    return f"age = {facts.age} < {wanted}"


def read_condition(node: Node | None) -> Condition:
    """Parse a `when` table, rejecting unknown tests and codes outside the contract."""
    if node is None:
        return Condition()
    node.table(optional=TEST_NAMES)
    tests: list[tuple[str, object]] = []
    for test in node.key_names():
        value = node.child(test)
        if test in _LIST_TESTS:
            codes = frozenset(value.choices(_LIST_TESTS[test]))
            if not codes:
                raise value.fail("an empty list never holds")
            tests.append((test, codes))
        elif test == "age_below":
            tests.append((test, value.whole(minimum=1)))
        else:
            tests.append((test, value.boolean()))
    return Condition(tuple(tests))
