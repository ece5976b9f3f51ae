"""The public names the rest of the application calls, and the rule versions in force."""

from __future__ import annotations

import inspect
from datetime import date

import pytest

from clerk.domain import policy


def test_every_public_name_resolves():
    for name in policy.__all__:
        assert getattr(policy, name) is not None, name
    assert set(policy.__all__) <= set(dir(policy))
    with pytest.raises(AttributeError):
        policy.no_such_rule  # noqa: B018


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("checklist", ["facts", "on"]),
        ("quote", ["facts", "on"]),
        ("surcharge_for", ["nth_time", "on"]),
        ("next_surcharge_ordinal", ["history", "first_2023_card_issued"]),
        ("collection_date", ["lodged", "service"]),
        ("is_working_day", ["day"]),
        ("add_working_days", ["day", "n"]),
        ("payment_methods", ["on"]),
    ],
)
def test_signatures_the_counter_relies_on(name, parameters):
    assert list(inspect.signature(getattr(policy, name)).parameters) == parameters


def test_policy_version_names_the_versions_in_force(append_rules):
    assert policy.policy_version(on=date(2026, 5, 4)) == (
        "checklist=2000-01-01 fees=2000-01-01 processing=2000-01-01 "
        "eligibility=2000-01-01 payment-methods=2000-01-01"
    )
    append_rules("processing.toml", NEWER_PROCESSING)
    assert policy.rules_in_force(on=date(2027, 3, 1))["processing"] == date(2027, 1, 1)
    assert policy.rules_in_force(on=date(2026, 12, 31))["processing"] == date(2000, 1, 1)
    assert "processing=2027-01-01" in policy.policy_version(on=date(2027, 1, 1))


NEWER_PROCESSING = """
[[version]]
effective_from = 2027-01-01
[version.working_days]
normal = 14
express = 9
special-express = 3
"""
