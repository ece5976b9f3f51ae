"""Rule files: every shipped file loads; a malformed one fails with file, line and reason; the
version in force on the lodging date applies; an edited file is read again."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from clerk.domain.policy import CHECKLIST_CODES, Facts, PolicyDataError, checklist, quote
from clerk.domain.policy.loader import _key_lines
from clerk.errors import UsageError

DAY = date(2026, 5, 4)


def replace_in(path: Path, old: str, new: str) -> int:
    """Edit a rule file; returns the line number of the edit."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def test_every_shipped_file_loads_and_every_code_has_a_rule():
    from clerk.domain.policy import collection_date, online_renewal_eligibility, payment_methods

    assert checklist(Facts(), on=DAY)
    assert quote(Facts(), on=DAY).total_avos == 9000
    assert payment_methods(on=DAY)
    assert collection_date(DAY, "normal").working_days == 15
    assert online_renewal_eligibility(expiry=DAY, age=30, on=DAY).eligible
    text = (Path(__file__).parents[3] / "data" / "policy" / "checklist.toml").read_text("utf-8")
    assert set(re.findall(r'^code = "([^"]+)"', text, re.M)) == set(CHECKLIST_CODES)


def test_a_syntax_error_names_the_file_and_line(policy_copy: Path):
    path = policy_copy / "fees.toml"
    line = replace_in(path, "amount_avos = 12000", "amount_avos = 12 000")
    with pytest.raises(PolicyDataError) as caught:
        quote(Facts(), on=DAY)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_a_negative_amount_names_its_line(policy_copy: Path):
    path = policy_copy / "fees.toml"
    line = replace_in(path, "amount_avos = 15000", "amount_avos = -15000")
    with pytest.raises(PolicyDataError, match=rf"fees\.toml:{line}: .*amount_avos.*-15000"):
        quote(Facts(), on=DAY)


def test_an_unknown_key_names_its_line(policy_copy: Path):
    path = policy_copy / "checklist.toml"
    line = replace_in(
        path,
        'code = "translation"\nblocking = true\n',
        'code = "translation"\nblocking = true\nmandatory = true\n',
    )
    with pytest.raises(PolicyDataError) as caught:
        checklist(Facts(), on=DAY)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line + 2}: ")
    assert "unknown key 'mandatory'" in message


def test_a_code_outside_the_contract_names_its_line(policy_copy: Path):
    path = policy_copy / "checklist.toml"
    line = replace_in(
        path,
        'when = { case = ["data-change"] }',
        'when = { case = ["data-changes"] }',
    )
    with pytest.raises(PolicyDataError, match=rf"checklist\.toml:{line}: .*'data-changes'"):
        checklist(Facts(), on=DAY)


def test_a_missing_key_names_the_table(policy_copy: Path):
    path = policy_copy / "payment-methods.toml"
    line = replace_in(path, 'code = "mpay"\n', "")
    with pytest.raises(PolicyDataError, match=rf"payment-methods\.toml:{line - 1}: .*'code'"):
        from clerk.domain.policy import payment_methods

        payment_methods(on=DAY)


def test_two_versions_on_one_date_are_refused(append_rules):
    append_rules(
        "processing.toml",
        "[[version]]\neffective_from = 2000-01-01\n[version.working_days]\nnormal = 1\n",
    )
    from clerk.domain.policy import collection_date

    with pytest.raises(PolicyDataError, match="two versions take effect on 2000-01-01"):
        collection_date(DAY, "normal")


def test_the_version_in_force_on_the_lodging_date_applies(policy_copy: Path):
    path = policy_copy / "fees.toml"
    text = path.read_text(encoding="utf-8")
    newer = text.split("\n[[version]]\n", 1)[1].replace("effective_from = 2000-01-01", "")
    newer = newer.replace("amount_avos = 9000", "amount_avos = 11000")
    path.write_text(text + "\n[[version]]\neffective_from = 2027-01-01" + newer, encoding="utf-8")
    assert quote(Facts(), on=date(2026, 12, 31)).total_avos == 9000
    assert quote(Facts(), on=date(2027, 1, 1)).total_avos == 11000
    with pytest.raises(UsageError, match="no rules of fees.toml are in force on 1999-12-31"):
        quote(Facts(), on=date(1999, 12, 31))


def test_an_edited_file_is_read_again(policy_copy: Path):
    assert quote(Facts(), on=DAY).total_avos == 9000
    replace_in(policy_copy / "fees.toml", "amount_avos = 9000", "amount_avos = 9500")
    assert quote(Facts(), on=DAY).total_avos == 9500


def test_key_lines_follow_arrays_of_tables():
    text = (
        "top = 1\n"  # 1
        "[[version]]\n"  # 2
        "effective_from = 2000-01-01\n"  # 3
        "[[version.item]]\n"  # 4
        'code = "a"\n'  # 5
        "[[version.item]]\n"  # 6
        'code = "b"\n'  # 7
        "title.en = 'x'\n"  # 8
        "[[version]]\n"  # 9
        "[version.exemption]\n"  # 10
        "waives = [\n"  # 11
        '  "x",\n'  # 12
        "]\n"  # 13
        "[[version.item]]\n"  # 14
        'code = "c"\n'  # 15
    )
    lines = _key_lines(text)
    assert lines[("top",)] == 1
    assert lines[("version", 0, "item", 1, "code")] == 7
    assert lines[("version", 0, "item", 1, "title", "en")] == 8
    assert lines[("version", 1, "exemption", "waives")] == 11
    assert lines[("version", 1, "item", 0, "code")] == 15


def test_the_engine_is_pure_and_imports_holidays_only_for_dates():
    """DESIGN: "domain/policy/ is pure: no database, no Textual, no devices." """
    script = (
        "import sys, datetime\n"
        "from clerk.domain import policy\n"
        "day = datetime.date(2026, 5, 4)\n"
        "policy.checklist(policy.Facts(), on=day); policy.quote(policy.Facts(), on=day)\n"
        "heavy = ('sqlmodel', 'sqlalchemy', 'textual', 'smartcard', 'holidays')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "policy.collection_date(day, 'normal')\n"
        "print('holidays' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[:2] == ["[]", "True"]
