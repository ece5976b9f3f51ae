"""Fees, the non-presentation surcharge ladder, exemptions and payment methods.

Seed: ../shared/seeds/macao-bir-renewal.txt, "Fees and Payment Methods". Amounts are avos.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk.domain.policy import (
    CASES,
    EXEMPTIONS,
    SERVICES,
    Facts,
    format_avos,
    next_surcharge_ordinal,
    payment_methods,
    quote,
    surcharge_for,
)
from clerk.errors import UsageError

DAY = date(2026, 5, 4)


def lines(**facts) -> dict[str, int]:
    return {line.code: line.amount_avos for line in quote(Facts(**facts), on=DAY).lines}


def total(**facts) -> int:
    return quote(Facts(**facts), on=DAY).total_avos


def test_renewal_application_fee_is_mop_90():
    """Seed: "Renewal application: MOP90.00" """
    assert lines() == {"application-fee": 9000}
    result = quote(Facts(), on=DAY)
    assert result.currency == "MOP"
    assert result.total_avos == 9000


@pytest.mark.parametrize("case", [c for c in CASES if c not in ("loss", "former-card-replacement")])
def test_every_card_application_pays_the_application_fee(case):
    assert lines(case=case) == {"application-fee": 9000}


def test_express_service_adds_mop_150():
    """Seed: "Express Service: An additional charge of MOP 150.00." """
    assert lines(service="express") == {"application-fee": 9000, "express-service": 15000}


def test_special_express_service_adds_mop_250():
    """Seed: "Special Express Service: An additional charge of MOP 250.00." """
    assert total(service="special-express") == 9000 + 25000


@pytest.mark.parametrize(
    ("prior", "surcharge"),
    [(0, 30000), (1, 30000), (2, 50000), (3, 100000), (4, 200000), (5, 200000), (40, 200000)],
)
def test_non_presentation_surcharge_ladder(prior, surcharge):
    """Seed: "If an applicant is unable to submit the original BIR no matter at the time of
    application or collection, additional charges will be imposed as follows: 1st time – MOP
    300.00 2nd time – MOP 300.00 3rd time – MOP 500.00 4th time – MOP 1,000.00 5th time or above
    – MOP 2,000.00" """
    found = lines(original_presented=False, prior_surcharges=prior)
    assert found == {"application-fee": 9000, "non-presentation-surcharge": surcharge}
    assert surcharge_for(prior + 1, on=DAY) == surcharge


def test_the_surcharge_label_says_which_time():
    line = quote(Facts(original_presented=False, prior_surcharges=2), on=DAY).lines[-1]
    assert line.label["en"].endswith("(3rd time)")
    assert "第3次" in line.label["zh_Hant"]
    assert "3.ª vez" in line.label["pt"]


def test_a_loss_pays_the_surcharge_even_without_no_original():
    """A lost card cannot be presented: "unable to submit the original BIR" applies."""
    assert lines(case="loss") == {"application-fee": 9000, "non-presentation-surcharge": 30000}
    assert lines(case="loss", prior_surcharges=3)["non-presentation-surcharge"] == 100000


def test_2023_card_counts_the_surcharge_from_the_first_time_again():
    """Seed: "For persons who were first issued with the Macao SAR Resident Identity Card (2023
    version), the surcharge for replacement of identity card due to loss will be counted as the
    first time all over again." """
    before = (date(2019, 3, 1), date(2021, 7, 9), date(2022, 1, 5), date(2023, 2, 2))
    found = lines(case="loss", prior_surcharge_dates=before)
    assert found["non-presentation-surcharge"] == 200000  # 5th time without the reset
    reset = date(2023, 6, 1)
    found = lines(case="loss", prior_surcharge_dates=before, first_issued_2023_card=reset)
    assert found["non-presentation-surcharge"] == 30000  # 1st time again
    after = (*before, date(2024, 1, 1), date(2025, 1, 1))
    found = lines(case="loss", prior_surcharge_dates=after, first_issued_2023_card=reset)
    assert found["non-presentation-surcharge"] == 50000  # 3rd time since the 2023 card


def test_a_count_cannot_apply_the_2023_reset():
    with pytest.raises(UsageError, match="dates"):
        Facts(case="loss", prior_surcharges=2, first_issued_2023_card=date(2023, 6, 1))
    with pytest.raises(UsageError, match="dates"):
        next_surcharge_ordinal(2, date(2023, 6, 1))
    assert next_surcharge_ordinal(0, date(2023, 6, 1)) == 1


def test_former_card_replacement_is_mop_60_and_300_without_the_original():
    """Seed: "Replacement of former Macao Resident Identity Card (non-electronic version) is
    MOP60.00. Applicants who cannot present the original copy of their former Macao Resident
    Identity Card (non-electronic version) when lodging the application will have to pay a
    surcharge of MOP300.00." """
    assert lines(case="former-card-replacement") == {"former-card-replacement-fee": 6000}
    found = lines(case="former-card-replacement", original_presented=False, prior_surcharges=4)
    assert found == {
        "former-card-replacement-fee": 6000,
        "former-card-non-presentation-surcharge": 30000,  # flat, not the ladder
    }


def test_external_service_is_mop_120():
    """Seed: ""External service" is limited to the Macao SAR only and the service charge is
    MOP120." """
    assert lines(external_service=True) == {"application-fee": 9000, "external-service": 12000}


@pytest.mark.parametrize("exemption", EXEMPTIONS)
def test_exemption_waives_application_fee_and_surcharge_not_express(exemption):
    """Seed: "Applicants who are lack of financial capability due to following conditions can
    apply for exemption of application fees. The relevant fees can be exempted upon approval."
    (The data file says which lines: application fee and surcharges, not optional services.)"""
    result = quote(Facts(exemption=exemption, original_presented=False, service="express"), on=DAY)
    waiver = result.lines[-1]
    assert waiver.code == "exemption-waiver"
    assert waiver.amount_avos == -(9000 + 30000)
    assert exemption in waiver.label["en"]
    assert result.total_avos == 15000


def test_exemption_waives_the_former_card_fees_but_not_the_external_service():
    result = quote(
        Facts(
            case="former-card-replacement",
            original_presented=False,
            exemption="poverty",
            external_service=True,
        ),
        on=DAY,
    )
    assert result.lines[-1].amount_avos == -(6000 + 30000)
    assert result.total_avos == 12000


def test_surcharge_for_refuses_a_zeroth_time():
    with pytest.raises(UsageError):
        surcharge_for(0, on=DAY)


def test_format_avos():
    assert format_avos(9000) == "90.00"
    assert format_avos(5) == "0.05"
    assert format_avos(-39000) == "-390.00"
    assert format_avos(200000) == "2000.00"
    with pytest.raises(TypeError):
        format_avos(90.0)  # type: ignore[arg-type]


def test_payment_methods_at_the_counter():
    """Seed: "Cash, credit card, Union Pay "QuickPass", debit card, Macau Pass and MPay are
    accepted for payment." """
    methods = payment_methods(on=DAY)
    assert [m.code for m in methods] == [
        "cash",
        "credit-card",
        "unionpay-quickpass",
        "debit-card",
        "macau-pass",
        "mpay",
    ]
    assert [m.code for m in methods if m.is_cash] == ["cash"]
    assert all(m.needs_reference for m in methods if not m.is_cash)
    assert methods[2].label_for("zh_Hant") == "銀聯「閃付」"


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60))
def test_the_ladder_never_goes_down(nth, later):
    low, high = sorted((nth, later))
    assert 0 < surcharge_for(low, on=DAY) <= surcharge_for(high, on=DAY)
    assert surcharge_for(max(5, high), on=DAY) == 200000


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.dates(date(2000, 1, 1), date(2030, 1, 1)), max_size=12),
    st.none() | st.dates(date(2000, 1, 1), date(2030, 1, 1)),
    st.integers(1, 4000),
)
def test_the_2023_reset_only_ever_lowers_the_count(history, reset, days_later):
    ordinal = next_surcharge_ordinal(history, reset)
    assert 1 <= ordinal <= len(history) + 1
    assert next_surcharge_ordinal(history) == len(history) + 1
    if reset is not None:
        later = reset + timedelta(days=days_later)
        assert next_surcharge_ordinal(history, later) <= ordinal
        assert ordinal == 1 + sum(1 for when in history if when >= reset)


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(CASES),
    service=st.sampled_from(SERVICES),
    presented=st.booleans(),
    prior=st.integers(0, 20),
    exemption=st.none() | st.sampled_from(EXEMPTIONS),
    external=st.booleans(),
)
def test_any_quote_is_whole_avos_and_adds_up(case, service, presented, prior, exemption, external):
    facts = Facts(
        case=case,
        service=service,
        original_presented=presented,
        prior_surcharges=prior,
        exemption=exemption,
        external_service=external,
    )
    result = quote(facts, on=DAY)
    amounts = [line.amount_avos for line in result.lines]
    assert all(type(amount) is int for amount in amounts)
    assert result.total_avos == sum(amounts) >= 0
    services = {"normal": 0, "express": 15000, "special-express": 25000}[service]
    optional = services + (12000 if external else 0)
    if exemption is None:
        assert all(amount > 0 for amount in amounts)
    else:
        assert result.total_avos == optional  # only the optional services are left to pay
    unexempted = quote(facts.with_changes(exemption=None), on=DAY).total_avos
    assert result.total_avos <= unexempted
    normal = quote(facts.with_changes(service="normal"), on=DAY).total_avos
    assert result.total_avos - normal == services  # express services are never waived
