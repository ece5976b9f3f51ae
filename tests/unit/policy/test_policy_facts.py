"""Facts: ordinary defaults, validation with the valid values named, mapping from JSON."""

from __future__ import annotations

import json
from datetime import date

import pytest

from clerk.domain.policy import CASES, FACT_KEYS, Facts
from clerk.errors import UsageError


def test_unstated_facts_take_the_ordinary_default():
    """Issue: "Unstated facts take the ordinary default (adult, single, Macao, Chinese, original
    presented, normal service)." """
    facts = Facts()
    assert (facts.case, facts.marital, facts.origin, facts.nationality, facts.service) == (
        "renewal",
        "single",
        "macao",
        "chinese",
        "normal",
    )
    assert facts.original_presented and not facts.is_minor
    assert facts.exemption is None and facts.prior_surcharges == 0


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("case", "renewl", ", ".join(CASES)),
        ("service", "fast", "normal, express, special-express"),
        ("marital", "engaged", "single, married, divorced, widowed"),
        ("origin", "mars", "macao, mainland, hong-kong, taiwan, japan, france, portugal, other"),
        ("photo", "selfie", "studio, onsite, my-photo"),
        ("exemption", "student", "unemployment, poverty, disability"),
        ("nationality", "british", "chinese, portuguese, other"),
    ],
)
def test_an_unknown_value_names_the_valid_ones(field, value, valid):
    with pytest.raises(UsageError) as caught:
        Facts.from_mapping({field: value})
    assert f"(valid: {valid})" in caught.value.message
    assert "\n" not in caught.value.message


def test_an_unknown_fact_names_the_valid_ones():
    with pytest.raises(UsageError, match="unknown fact 'colour'.*spouse_origin"):
        Facts.from_mapping({"colour": "red"})


@pytest.mark.parametrize(
    "mapping",
    [
        {"age": -1},
        {"age": 151},
        {"age": "15"},
        {"age": True},
        {"prior_surcharges": 1.5},
        {"talent_scheme": "yes"},
        {"no_original": 1},
        {"first_issued_2023_card": "June 2023"},
        {"prior_surcharges": 3, "prior_surcharge_dates": ["2020-01-01"]},
    ],
)
def test_bad_values_are_usage_errors(mapping):
    with pytest.raises(UsageError):
        Facts.from_mapping(mapping)


def test_json_names_map_to_fields():
    facts = Facts.from_mapping(
        {
            "case": "loss",
            "age": 12,
            "spouse_origin": "japan",
            "no_original": True,
            "exemption": None,
            "first_issued_2023_card": "2023-06-01",
            "prior_surcharge_dates": ["2022-01-01", "2024-02-03"],
        }
    )
    assert facts.case == "loss" and facts.is_minor and facts.spouse_origin == "japan"
    assert not facts.original_presented
    assert facts.first_issued_2023_card == date(2023, 6, 1)
    assert facts.prior_surcharge_dates == (date(2022, 1, 1), date(2024, 2, 3))
    assert "no_original" in FACT_KEYS


def test_no_original_and_original_presented_must_agree():
    with pytest.raises(UsageError, match="contradict"):
        Facts.from_mapping({"no_original": True, "original_presented": True})
    assert not Facts.from_mapping(
        {"no_original": True, "original_presented": False}
    ).original_presented


def test_a_lost_card_is_never_presented():
    assert not Facts(case="loss").former_card_presented
    assert Facts(case="damage").former_card_presented


def test_facts_are_immutable():
    with pytest.raises(AttributeError):
        Facts().case = "loss"  # type: ignore[misc]


def test_facts_round_trip_through_json_mapping():
    facts = Facts(
        case="loss",
        age=9,
        marital="married",
        exemption="poverty",
        prior_surcharge_dates=(date(2022, 1, 1),),
        first_issued_2023_card=date(2023, 6, 1),
    )
    mapping = facts.to_mapping()
    assert mapping["first_issued_2023_card"] == "2023-06-01"
    assert Facts.from_mapping(json.loads(json.dumps(mapping))) == facts
