"""`clerk policy …`: the CLI contract of the policy engine (JSON keys, exit codes, messages)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clerk.cli import main

ON = ["--on", "2026-05-04"]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user configuration; the shipped rules."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("CLERK_CONFIG", "CLERK_DATA_DIR", "CLERK_DB_URL"):
        monkeypatch.delenv(name, raising=False)


def run_json(capsys, *argv: str) -> dict:
    assert main(["policy", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def run_refused(capsys, *argv: str) -> str:
    assert main(["policy", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_checklist_json(capsys):
    data = run_json(
        capsys, "checklist", "--case", "renewal", "--marital", "married",
        "--spouse-origin", "taiwan", "--age", "40", *ON,
    )  # fmt: skip
    codes = [item["code"] for item in data["items"]]
    assert codes == [
        "former-card",
        "photo",
        "marriage-certificate",
        "spouse-id-copy",
        "household-registration-transcript",
    ]
    item = data["items"][-1]
    assert set(item) >= {"code", "title", "reason", "blocking"}
    assert item["title"] == "Valid household registration transcript"
    assert item["titles"]["zh_Hant"] == "有效戶籍謄本"
    assert "spouse-origin = taiwan" in item["reason"]
    assert item["blocking"] is True


def test_checklist_table_in_chinese(capsys):
    assert main(["policy", "checklist", "--case", "loss", "--lang", "zh_Hant", *ON]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["CODE", "BLOCKING", "DOCUMENT", "/", "REASON"]
    assert "警方遺失報告" in out


def test_quote_json(capsys):
    data = run_json(
        capsys, "quote", "--case", "loss", "--service", "express",
        "--prior-surcharges", "3", "--external-service", *ON,
    )  # fmt: skip
    labels = [line.pop("labels") for line in data["lines"]]
    assert data == {
        "currency": "MOP",
        "lines": [
            {"code": "application-fee", "label": "Application fee", "amount": "90.00"},
            {"code": "express-service", "label": "Express service", "amount": "150.00"},
            {
                "code": "non-presentation-surcharge",
                "label": "Surcharge: original BIR not presented (4th time)",
                "amount": "1000.00",
            },
            {"code": "external-service", "label": "External service", "amount": "120.00"},
        ],
        "total": "1360.00",
    }
    assert labels[0] == {
        "zh_Hant": "身份證申請費",
        "pt": "Taxa do pedido de BIR",
        "en": "Application fee",
    }


def test_quote_with_exemption(capsys):
    data = run_json(
        capsys, "quote", "--no-original", "--exemption", "disability",
        "--service", "special-express", *ON,
    )  # fmt: skip
    assert [(line["code"], line["amount"]) for line in data["lines"]] == [
        ("application-fee", "90.00"),
        ("special-express-service", "250.00"),
        ("non-presentation-surcharge", "300.00"),
        ("exemption-waiver", "-390.00"),
    ]
    assert data["total"] == "250.00"


def test_quote_table(capsys):
    assert main(["policy", "quote", "--case", "former-card-replacement", *ON]) == 0
    out = capsys.readouterr().out
    assert "Former (non-electronic) card replacement" in out
    assert out.splitlines()[-1].split()[-3:] == ["Total", "(MOP)", "60.00"]


def test_collection_date_json(capsys):
    data = run_json(capsys, "collection-date", "--lodged", "2026-02-13", "--service", "express")
    assert data == {"collection_date": "2026-03-04", "working_days": 10}


def test_unknown_case_is_one_line_naming_the_valid_values(capsys):
    line = run_refused(capsys, "quote", "--case", "renewl")
    assert "renewal" in line and "director-request" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["collection-date", "--lodged", "2026-02-13", "--service", "overnight"],
        ["collection-date", "--lodged", "13/02/2026"],
        ["checklist", "--marital", "engaged"],
        ["checklist", "--age", "-3"],
        ["quote", "--lang", "fr"],
    ],
)
def test_bad_options_exit_2_with_one_line(capsys, argv):
    run_refused(capsys, *argv)


def test_facts_file_with_command_line_overrides(capsys, tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps({"case": "to-permanent", "nationality": "portuguese", "no_original": True}),
        encoding="utf-8",
    )
    data = run_json(capsys, "checklist", "--facts", str(facts), "--case", "renewal", *ON)
    codes = {item["code"] for item in data["items"]}
    assert "domicile-declaration-approval" not in codes  # --case renewal overrides the file
    assert "police-loss-report" in codes  # no_original from the file
    data = run_json(capsys, "checklist", "--facts", str(facts), *ON)
    assert "domicile-declaration-approval" in {item["code"] for item in data["items"]}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"case": "renewal",\n "age": }', "line 2"),
        ('["renewal"]', "JSON object"),
        ('{"colour": "red"}', "unknown fact 'colour'"),
        ('{"photo": "selfie"}', "studio, onsite, my-photo"),
    ],
)
def test_a_bad_facts_file_is_one_line(capsys, tmp_path, content, words):
    facts = tmp_path / "facts.json"
    facts.write_text(content, encoding="utf-8")
    line = run_refused(capsys, "quote", "--facts", str(facts), *ON)
    assert str(facts) in line and words in line


def test_a_missing_facts_file_is_one_line(capsys, tmp_path):
    assert "nothing.json" in run_refused(capsys, "quote", "--facts", str(tmp_path / "nothing.json"))


def test_eligibility_json(capsys):
    data = run_json(
        capsys, "eligibility", "--expiry", "2026-08-01", "--age", "17", "--lost", *ON,
    )  # fmt: skip
    assert data["renewal"] == {"eligible": True, "window_opens": "2026-02-02", "reasons": []}
    assert data["online_renewal"]["eligible"] is False
    assert [r["code"] for r in data["online_renewal"]["reasons"]] == ["under-age", "lost-card"]


def test_hk_enrolment_json(capsys):
    data = run_json(capsys, "hk-enrolment", "--age", "30", "--symbols", "***AZ")
    assert data == {"eligible": True, "reasons": []}
    data = run_json(capsys, "hk-enrolment", "--age", "30", "--symbols", "AZ")
    assert [r["code"] for r in data["reasons"]] == ["no-enrolment-symbol"]


def test_payment_methods_json(capsys):
    data = run_json(capsys, "payment-methods", *ON)
    assert [m["code"] for m in data["methods"]][:2] == ["cash", "credit-card"]
    cash = data["methods"][0]
    assert cash.pop("labels")["pt"] == "Numerário"
    assert cash == {"code": "cash", "label": "Cash", "is_cash": True, "needs_reference": False}


def test_closures_json(capsys):
    data = run_json(capsys, "closures", "--year", "2026")
    dates = [closure["date"] for closure in data["closures"]]
    assert "2026-02-17" in dates and "2026-02-16" not in dates  # afternoon only: open


def test_the_installed_script_prints_a_quote(tmp_path):
    """A real process: the console script, as a kiosk or a script would run it."""
    script = Path(sys.executable).with_name("clerk")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("CLERK_DATA_DIR", None)
    done = subprocess.run(
        [str(script), "policy", "quote", "--service", "special-express", "--no-original",
         "--prior-surcharges", "1", "--on", "2026-05-04", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["currency"] == "MOP"
    assert data["total"] == "640.00"  # 90 + 250 + 300 (2nd time)
    refused = subprocess.run(
        [str(script), "policy", "quote", "--service", "slow"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2
    assert len(refused.stderr.splitlines()) == 1
    assert "normal" in refused.stderr and refused.stdout == ""
