"""Eligibility: renewal window, non-expiring cards, online renewal, HK e-channel enrolment.

Seeds: ../shared/seeds/macao-bir-renewal.txt and hk-smart-id-card.txt.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk.domain.policy import (
    card_expires,
    hk_enrolment_eligibility,
    needs_ordinary_residence_proof,
    online_renewal_eligibility,
    renewal_eligibility,
    renewal_window_opens,
    residence_authorisation_document_is_recent,
)
from clerk.errors import UsageError

TODAY = date(2026, 5, 4)


def test_renewal_opens_180_days_before_expiry_and_stays_open_after():
    """Seed: "… can apply for the renewal of BIR which will expire in less than six months or has
    expired." (the issue fixes the window at 180 days)"""
    expiry = date(2026, 10, 31)
    assert renewal_window_opens(expiry, on=TODAY) == date(2026, 5, 4)
    assert renewal_eligibility(expiry, on=TODAY).eligible
    early = renewal_eligibility(expiry + timedelta(days=1), on=TODAY)
    assert not early.eligible
    assert early.codes == ("renewal-window-not-open",)
    assert "2026-05-05" in early.reasons[0].text["en"]
    assert renewal_eligibility(date(2020, 1, 1), on=TODAY).eligible  # expired long ago


@settings(max_examples=100, deadline=None)
@given(st.integers(-3000, 3000))
def test_the_window_is_exactly_the_last_180_days_and_after(days_to_expiry):
    expiry = TODAY + timedelta(days=days_to_expiry)
    assert renewal_eligibility(expiry, on=TODAY).eligible == (days_to_expiry <= 180)


def test_a_card_issued_at_65_or_over_does_not_expire():
    """Issue: "cards of holders aged 65+ at issue do not expire"."""
    assert card_expires(64, on=TODAY)
    assert not card_expires(65, on=TODAY)
    result = renewal_eligibility(date(2026, 6, 1), on=TODAY, age_at_issue=70)
    assert result.codes == ("card-does-not-expire",)
    assert renewal_eligibility(None, on=TODAY).codes == ("card-does-not-expire",)


def test_online_renewal_for_an_eligible_permanent_adult():
    """Seed: "This online service is applicable to persons who fulfill all of the following
    criteria: – Resident identity card is going to expire in the next 6 months or has expired;
    -Macao permanent resident who is aged 18 or above on the issuance date of resident identity
    card; -No need to change identity information" """
    result = online_renewal_eligibility(expiry=date(2026, 8, 1), age=18, on=TODAY)
    assert result.eligible
    assert result.reasons == ()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"permanent": False}, "not-permanent"),
        ({"age": 17}, "under-age"),
        ({"identity_data_change": True}, "identity-data-change"),
        ({"interdicted": True}, "interdicted"),
        ({"lost": True}, "lost-card"),
        ({"expiry": date(2027, 6, 1)}, "renewal-window-not-open"),
        ({"expiry": None}, "card-does-not-expire"),
    ],
)
def test_online_renewal_refusals(changes, code):
    """Seed: "Circumstances under which online application for renewal of Macao SAR Resident
    Identity Card is not applicable: - Interdicted person; - Loss of resident identity card." and
    the criteria above."""
    facts = {"expiry": date(2026, 8, 1), "age": 30, "on": TODAY, **changes}
    result = online_renewal_eligibility(**facts)
    assert not result.eligible
    assert result.codes == (code,)
    assert all(result.reasons[0].text[lang] for lang in ("zh_Hant", "pt", "en"))


def test_online_renewal_lists_every_reason():
    result = online_renewal_eligibility(
        expiry=date(2026, 8, 1), age=16, permanent=False, lost=True, on=TODAY
    )
    assert result.codes == ("not-permanent", "under-age", "lost-card")
    assert result.reasons[1].text_for("en") == "Must be aged 18 or over (is 16)"


@pytest.mark.parametrize(
    ("age", "permanent", "symbols", "valid", "eligible"),
    [
        (18, True, "", True, True),
        (17, True, "", True, False),
        (30, False, "***AZ", True, True),
        (30, False, "R", True, True),
        (30, False, "AZ", True, False),
        (17, False, "R", True, False),
        (30, True, "", False, False),
    ],
)
def test_hk_enrolment(age, permanent, symbols, valid, eligible):
    """HK seed, Note 2: "Only applicable to Hong Kong residents aged 18 or above holding a valid
    Hong Kong permanent identity card or a valid Hong Kong identity card containing '***' or 'R'
    symbol." """
    result = hk_enrolment_eligibility(
        age=age, permanent=permanent, symbols=symbols, card_valid=valid, on=TODAY
    )
    assert result.eligible is eligible
    assert bool(result.reasons) is not eligible


def test_hk_enrolment_accepts_symbols_as_a_list():
    assert hk_enrolment_eligibility(age=40, permanent=False, symbols=["***", "A"]).eligible
    refused = hk_enrolment_eligibility(age=40, permanent=False, symbols=["C", "Z"], on=TODAY)
    assert refused.codes == ("no-enrolment-symbol",)
    assert "*** / R" in refused.reasons[0].text["en"]


def test_residence_authorisation_document_within_90_days():
    """Seed: "… valid residence authorization documents issued by relevant authorities within 90
    days prior to their applications." """
    assert residence_authorisation_document_is_recent(TODAY - timedelta(days=90), on=TODAY)
    assert not residence_authorisation_document_is_recent(TODAY - timedelta(days=91), on=TODAY)
    assert not residence_authorisation_document_is_recent(TODAY + timedelta(days=1), on=TODAY)


def test_foreign_permanent_holder_proves_residence_after_3_years():
    """Seed: "For holders of permanent resident identity cards who are of foreign nationality,
    and the time interval between the date of application for ID card renewal and the last issue
    date of the ID card exceeds 3 years." """
    assert needs_ordinary_residence_proof("portuguese", date(2023, 5, 3), on=TODAY)
    assert not needs_ordinary_residence_proof("portuguese", date(2023, 5, 4), on=TODAY)
    assert not needs_ordinary_residence_proof("chinese", date(2010, 1, 1), on=TODAY)
    assert not needs_ordinary_residence_proof("other", date(2010, 1, 1), on=TODAY, permanent=False)
    with pytest.raises(UsageError, match="chinese, portuguese, other"):
        needs_ordinary_residence_proof("martian", date(2010, 1, 1), on=TODAY)
