"""The document checklist: one test per rule, each quoting the seed sentence it implements.

Seed: ../shared/seeds/macao-bir-renewal.txt.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk.domain.policy import (
    CASES,
    CHECKLIST_CODES,
    EXEMPTIONS,
    LANGUAGES,
    MARITAL_STATUSES,
    NATIONALITIES,
    PHOTO_OPTIONS,
    REGIONS,
    SERVICES,
    ChecklistItem,
    Facts,
    checklist,
)

DAY = date(2026, 5, 4)


def items(**facts) -> dict[str, ChecklistItem]:
    found = checklist(Facts(**facts), on=DAY)
    return {item.code: item for item in found}


def test_ordinary_renewal_needs_the_former_card_and_a_photo_only():
    """Seed: "Applicants must lodge their application in person … and present the former Macao
    SAR Resident Identity Card (BIR) at the time of application." """
    found = items()
    assert list(found) == ["former-card", "photo"]
    assert found["former-card"].blocking
    assert "case = renewal" in found["former-card"].reason


# --- the former card ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in CASES if c != "loss"])
def test_every_case_but_loss_presents_the_former_card(case):
    """Seed: "… present the former Macao SAR Resident Identity Card (BIR) at the time of
    application." """
    assert items(case=case)["former-card"].blocking


def test_former_card_not_presented_does_not_block_and_asks_for_a_proof_of_loss():
    """Seed: "If the applicants are unable to present the original resident identity card, they
    should state the reason and submit a proof of loss issued by the police authority." and the
    surcharge "If an applicant is unable to submit the original BIR …" (fees, not a refusal)."""
    found = items(case="renewal", original_presented=False)
    assert not found["former-card"].blocking
    assert "original-presented = no" in found["former-card"].reason
    assert "surcharge" in found["former-card"].title["en"]
    assert not found["police-loss-report"].blocking


def test_damaged_card_says_chip_faults_are_not_damage():
    """Seed: "If the original BIR is damaged (not applicable to chip problem)"."""
    title = items(case="damage")["former-card"].title["en"]
    assert "damaged" in title and "chip" in title


def test_former_card_replacement_asks_for_the_non_electronic_card():
    """Seed: "Replacement of former Macao Resident Identity Card (non-electronic version)"."""
    found = items(case="former-card-replacement")
    assert "non-electronic" in found["former-card"].title["en"]
    without = items(case="former-card-replacement", original_presented=False)
    assert not without["former-card"].blocking
    assert "non-electronic" in without["former-card"].title["en"]


# --- loss -------------------------------------------------------------------------------------


def test_loss_needs_the_police_loss_report_naming_holder_type_and_number():
    """Seed: "… apply for the replacement of identity card at DSI in person with the loss report
    on which the holder's name, type of identity card and identity card number should be clearly
    stated." """
    found = items(case="loss")
    report = found["police-loss-report"]
    assert report.blocking
    for words in ("name", "type", "number"):
        assert words in report.title["en"]
    assert "former-card" not in found
    assert "case = loss" in report.reason


def test_no_police_report_when_the_card_is_presented():
    assert "police-loss-report" not in items(case="damage")


# --- residence authorisation ----------------------------------------------------------------


def test_renewal_under_residence_authorisation_needs_a_recent_authorisation_document():
    """Seed: "Those who are subject to residence authorization are required to submit the
    original copy of valid residence authorization documents issued by relevant authorities
    within 90 days prior to their applications." """
    found = items(case="renewal", residence_authorisation=True)
    assert found["residence-authorisation"].blocking
    assert "90 days" in found["residence-authorisation"].title["en"]
    assert "residence-authorisation" not in items(case="renewal")


def test_talent_scheme_holders_are_under_residence_authorisation():
    assert "residence-authorisation" in items(case="renewal", talent_scheme=True)


# --- approvals ----------------------------------------------------------------------------------


def test_data_change_needs_the_approval_of_the_alteration():
    """Seed: "Macao resident identity card holder should renew the BIR in person at DSI upon
    obtaining the approval of alteration of personal data." """
    assert items(case="data-change")["alteration-approval"].blocking
    assert "alteration-approval" not in items(case="renewal")


def test_director_request_needs_the_directors_approval():
    """Seed: "applicants can submit a request for replacement of identity card to the director …
    However, they can only lodge the application for identity card upon approval of the
    request." """
    assert items(case="director-request")["director-approval"].blocking
    assert "director-approval" not in items(case="damage")


# --- to permanent ---------------------------------------------------------------------------


def test_to_permanent_needs_7_years_of_ordinary_residence():
    """Seed: "The applicant must submit a proof of having ordinarily resided in Macao for 7
    consecutive years" """
    found = items(case="to-permanent")
    assert found["residence-7-years-proof"].blocking
    assert not {
        "residence-authorisation-7-years",
        "talent-committee-document",
        "domicile-declaration-approval",
    } & set(found)


def test_to_permanent_under_residence_authorisation_needs_the_psp_or_ipim_letter():
    """Seed: "Macao resident identity card holders who are subject to residence authorization
    must submit a notification letter issued by the Residence and Stay Affairs Department of the
    Public Security Police Force or a confirmation declaration issued by the Trade and Investment
    Promotion Institute … indicating that their residence authorization have been renewed for 7
    consecutive years." """
    found = items(case="to-permanent", residence_authorisation=True)
    assert found["residence-authorisation-7-years"].blocking
    assert "residence-7-years-proof" in found
    assert "residence-authorisation" not in found  # the 90-day document is for renewals


def test_to_permanent_advanced_professional_needs_talent_committee_documents():
    """Seed: "Advanced professionals stipulated in Article 3(3) of Law No. 7/2023 (Talent
    Recruitment System) are required to submit valid documents confirming their residence
    authorization issued by the Talent Development Committee" """
    found = items(case="to-permanent", residence_authorisation=True, talent_scheme=True)
    assert found["talent-committee-document"].blocking
    assert "residence-authorisation-7-years" not in found


@pytest.mark.parametrize("nationality", ["portuguese", "other"])
def test_to_permanent_foreign_national_needs_the_approved_declaration_of_domicile(nationality):
    """Seed: "Persons who are of Portuguese or other foreign nationalities and who have
    ordinarily resided in Macao for 7 consecutive years can only apply for the Macao SAR.
    Resident Identity Card after their declaration of domicile in Macao in accordance with
    Article 8 of Law Nº. 8/1999 is approved." """
    found = items(case="to-permanent", nationality=nationality)
    assert found["domicile-declaration-approval"].blocking
    assert f"nationality = {nationality}" in found["domicile-declaration-approval"].reason
    assert "domicile-declaration-approval" not in items(case="renewal", nationality=nationality)


def test_foreign_permanent_renewal_needs_proof_of_ordinary_residence():
    """Seed: "Applicants should submit a proof of having ordinarily resided in Macao from the
    last issue date of ID card until the day right before lodging the application …" """
    found = items(case="foreign-permanent-renewal", nationality="other")
    assert found["ordinary-residence-proof"].blocking
    assert "ordinary-residence-proof" not in items(case="renewal", nationality="other")


# --- photo ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("photo", "blocking", "words"),
    [("studio", True, "12 months"), ("my-photo", True, "My Photo"), ("onsite", False, "on site")],
)
def test_the_photo_item_follows_the_chosen_option(photo, blocking, words):
    """Seed: "Applicant can choose to submit a 1.5-inch, color, bareheaded and full-faced
    photograph in plain white background which is taken at a photography studio within the last
    12 months, use the photograph taken onsite at no cost …, or use the photograph … stored in
    "My Photo" of the "Macao One Account" """
    item = items(photo=photo)["photo"]
    assert item.blocking is blocking
    assert words in item.title["en"]


@pytest.mark.parametrize("case", CASES)
def test_every_case_has_a_photo(case):
    assert "photo" in items(case=case)


# --- birth record -------------------------------------------------------------------------------


def test_changed_birth_record_needs_the_birth_certificate_or_a_declaration():
    """Seed: "Applicants have to submit the original and photocopy of birth certificate unless
    there is no change in the birth certificate archived in DSI. If the birth certificate cannot
    be submitted, applicants or the person who executes the parental right or legal guardianship
    have to make a declaration" """
    item = items(birth_record_changed=True)["birth-certificate"]
    assert item.blocking
    assert "declaration" in item.title["en"]
    assert "birth-certificate" not in items()


# --- minors ---------------------------------------------------------------------------------


def test_minor_brings_a_parent_and_copies_of_both_parents_ids():
    """Seed: "For persons under the age of 18, their parent or the person who executes the
    parental right or guardianship … are required to accompany the underage applicant … they
    need to submit photocopies of both parents' identification documents … (The accompanying
    person has to provide his/her original identification document for verification.)" """
    found = items(age=17)
    assert found["guardian-present"].blocking
    assert "original" in found["guardian-present"].title["en"]
    assert found["parents-id-copies"].blocking
    assert "age = 17 < 18" in found["parents-id-copies"].reason


@pytest.mark.parametrize("age", [18, 40, None])
def test_adults_do_not_need_a_guardian(age):
    found = items(age=age)
    assert "guardian-present" not in found
    assert "parents-id-copies" not in found


# --- marital status -----------------------------------------------------------------------------


def test_married_needs_marriage_certificate_and_spouse_id_copies():
    """Seed: "If married, applicants have to submit the photocopy of marriage certificate and a
    photocopy of the spouse's identification document (The original document is required for
    verification)" """
    found = items(marital="married")
    assert found["marriage-certificate"].blocking
    assert found["spouse-id-copy"].blocking
    assert "original" in found["spouse-id-copy"].title["en"]
    assert "household-registration-transcript" not in found


@pytest.mark.parametrize("region", ["japan", "france", "taiwan"])
@pytest.mark.parametrize("whose", ["origin", "spouse_origin"])
def test_married_with_japan_france_or_taiwan_origin_needs_household_registration(region, whose):
    """Seed: "besides, a valid household registration transcript is required if applicants or
    their spouses are originally from Japan, France or Taiwan Region." """
    found = items(marital="married", **{whose: region})
    assert found["household-registration-transcript"].blocking
    assert region in found["household-registration-transcript"].reason


@pytest.mark.parametrize("region", ["macao", "mainland", "hong-kong", "portugal", "other"])
def test_other_origins_need_no_household_registration(region):
    found = items(marital="married", origin=region, spouse_origin=region)
    assert "household-registration-transcript" not in found


def test_household_registration_is_a_married_applicants_document():
    assert "household-registration-transcript" not in items(marital="single", origin="japan")


def test_divorced_needs_proof_of_divorce():
    """Seed: "If divorced, applicants have to submit the photocopy of their proof of divorce
    (The original document is required for verification)" """
    found = items(marital="divorced")
    assert found["divorce-proof"].blocking
    assert "marriage-certificate" not in found


def test_widowed_needs_marriage_and_death_certificates_and_refuses_a_brief_report():
    """Seed: "If widowed, applicants have to submit the marriage certificate and the spouse's
    death certificate; brief report of death is not accepted as proof for change of marital
    status" """
    found = items(marital="widowed")
    assert found["marriage-certificate"].blocking
    death = found["spouse-death-certificate"]
    assert death.blocking
    assert "brief report of death is refused" in death.reason
    assert "spouse-id-copy" not in found


def test_single_needs_no_marital_evidence():
    marital_codes = {
        "marriage-certificate",
        "spouse-id-copy",
        "divorce-proof",
        "spouse-death-certificate",
        "household-registration-transcript",
    }
    assert not marital_codes & set(items(marital="single"))


# --- language -------------------------------------------------------------------------------


def test_documents_in_another_language_need_an_official_translation():
    """Seed: "If above-mentioned documents are not written in Chinese, Portuguese or English,
    applicants are required to produce an official translation." """
    assert items(foreign_language_docs=True)["translation"].blocking
    assert "translation" not in items()


# --- exemptions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exemption", "evidence"),
    [
        (
            "unemployment",
            {"exemption-form", "unemployment-declaration", "dsal-registration-receipts"},
        ),
        ("poverty", {"exemption-form", "ias-beneficiary-card"}),
        ("disability", {"exemption-form", "ias-disability-card"}),
    ],
)
def test_exemption_evidence(exemption, evidence):
    """Seed, exemption table: "Unemployment | 1) Applicants have to sign the application form of
    fee exemption; 2) … sign a declaration to declare their unemployment status; 3) Submit the
    receipts of Employment Registration issued by the Labour Affairs Bureau (DSAL) of the past 12
    months" — "Poverty | … Submit a photocopy of a valid Beneficiary Card issued by the Social
    Welfare Bureau (IAS)" — "Disability | … a valid Disability Assessment Registration Card
    issued by the Social Welfare Bureau (IAS)". Granted "upon approval": not blocking."""
    found = items(exemption=exemption)
    exemption_codes = {
        "exemption-form",
        "unemployment-declaration",
        "dsal-registration-receipts",
        "ias-beneficiary-card",
        "ias-disability-card",
    }
    assert exemption_codes & set(found) == evidence
    assert not any(found[code].blocking for code in evidence)
    assert "supervisor" in found["exemption-form"].reason


def test_no_exemption_no_exemption_evidence():
    assert "exemption-form" not in items()


# --- the items themselves -----------------------------------------------------------------------


def test_every_contract_code_is_reachable():
    facts = (
        [Facts(case=case, original_presented=False, residence_authorisation=True) for case in CASES]
        + [
            Facts(case="to-permanent", talent_scheme=True, nationality="other"),
            Facts(marital="married", origin="japan", age=5, foreign_language_docs=True),
            Facts(marital="widowed", birth_record_changed=True),
            Facts(marital="divorced"),
        ]
        + [Facts(exemption=kind) for kind in EXEMPTIONS]
    )
    seen = {item.code for each in facts for item in checklist(each, on=DAY)}
    assert seen == set(CHECKLIST_CODES)


def test_titles_and_reasons_are_trilingual():
    item = items(marital="married")["marriage-certificate"]
    assert set(item.title) == set(LANGUAGES) == set(item.reasons)
    assert item.title_for("zh_Hant") == "結婚證明副本（須出示正本以供核對）"
    assert item.reason_for("pt").startswith("Casado")
    assert item.reason == item.reasons["en"]


facts_strategy = st.builds(
    Facts,
    case=st.sampled_from(CASES),
    age=st.none() | st.integers(0, 120),
    marital=st.sampled_from(MARITAL_STATUSES),
    origin=st.sampled_from(REGIONS),
    spouse_origin=st.sampled_from(REGIONS),
    nationality=st.sampled_from(NATIONALITIES),
    residence_authorisation=st.booleans(),
    talent_scheme=st.booleans(),
    original_presented=st.booleans(),
    foreign_language_docs=st.booleans(),
    birth_record_changed=st.booleans(),
    photo=st.sampled_from(PHOTO_OPTIONS),
    exemption=st.none() | st.sampled_from(EXEMPTIONS),
    service=st.sampled_from(SERVICES),
)


@settings(max_examples=200, deadline=None)
@given(facts_strategy)
def test_any_facts_give_unique_contract_codes_with_reasons(facts):
    found = checklist(facts, on=DAY)
    codes = [item.code for item in found]
    assert len(codes) == len(set(codes))
    assert set(codes) <= set(CHECKLIST_CODES)
    assert "photo" in codes
    assert ("police-loss-report" in codes) == (facts.case == "loss" or not facts.original_presented)
    assert ("former-card" in codes) == (facts.case != "loss")
    assert ("guardian-present" in codes) == (facts.age is not None and facts.age < 18)
    for item in found:
        assert "(facts: " in item.reason  # the reason names the facts behind the rule
        assert isinstance(item.blocking, bool)
        assert all(item.title[lang] for lang in LANGUAGES)
