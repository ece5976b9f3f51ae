"""`clerk tag|appointment|counter …` on both backends: JSON contract, exit codes, errors."""

from __future__ import annotations

import json

import pytest

from clerk.cli import main
from tests.unit import test_queue as shared

clock = shared.clock
db_url = shared.db_url
migrated_templates = shared.migrated_templates
office = shared.office


@pytest.fixture
def cli(office, tmp_path, capsys):
    url = office.db_url
    config = tmp_path / "clerk.toml"
    config.write_text(f'[office]\ncode = "{office.config.office.code}"\n', encoding="utf-8")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", url, "--config", str(config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def as_json(out: str):
    return json.loads(out)


def test_issue_call_and_list_keep_the_contract(cli):
    code, out, _ = cli("tag", "issue", "--service", "A", "--json")
    assert code == 0
    assert as_json(out) == {"tag": "A001", "service": "A", "number": 1, "day": "2026-11-23"}
    cli("tag", "issue", "--service", "b", "--json")
    code, out, _ = cli("tag", "call", "--counter", "3", "--json")
    assert (code, as_json(out)) == (0, {"tag": "A001", "counter": 3})
    code, out, _ = cli("tag", "list", "--json")
    assert as_json(out) == {
        "tags": [
            {"tag": "A001", "service": "A", "number": 1, "status": "called", "counter": 3},
            {"tag": "B001", "service": "B", "number": 1, "status": "waiting", "counter": None},
        ]
    }
    code, out, _ = cli("tag", "list", "--day", "2026-11-22", "--json")
    assert as_json(out) == {"tags": []}


def test_calling_with_nothing_waiting(cli):
    code, out, _ = cli("tag", "call", "--counter", "2", "--json")
    assert (code, as_json(out)) == (0, {"tag": None, "counter": 2})
    code, out, err = cli("tag", "call", "--counter", "2")
    assert (code, out) == (2, "")
    assert err == "clerk: nobody is waiting for counter 2\n"


@pytest.mark.parametrize(
    "args,needle",
    [
        (("tag", "issue", "--service", "Q"), "unknown service 'Q'"),
        (("tag", "call", "--counter", "7"), "counter 7 does not exist"),
        (("tag", "call", "--counter", "0"), "must be 1 or more"),
        (("tag", "finish", "A404"), "no tag A404 on 2026-11-23"),
        (("tag", "recall", "12"), "not a tag number"),
        (("tag", "list", "--day", "yesterday"), "not a date"),
        (("tag", "transfer", "A001"), "--to"),
        (("appointment", "import", "/no/such.csv"), "does not exist"),
        (("counter", "services", "9", "--set", "A"), "counter 9 does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, args, needle):
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1, err


def test_tag_actions_from_the_command_line(cli):
    cli("tag", "issue", "--service", "A")
    cli("tag", "call", "--counter", "1")
    code, out, _ = cli("tag", "recall", "A001", "--counter", "1", "--json")
    assert as_json(out)["recalls"] == 1
    code, _, err = cli("tag", "recall", "A001", "--counter", "2")
    assert code == 2 and "A001 is at counter 1, not at counter 2" in err
    code, out, _ = cli("tag", "park", "a1", "--json")
    assert as_json(out)["status"] == "parked"
    code, out, _ = cli("tag", "resume", "A001", "--counter", "2", "--json")
    assert (as_json(out)["status"], as_json(out)["counter"]) == ("called", 2)
    code, out, _ = cli("tag", "transfer", "A001", "--to", "C", "--json")
    assert (as_json(out)["service"], as_json(out)["status"]) == ("C", "waiting")
    code, out, _ = cli("tag", "call", "--counter", "3", "--tag", "A001")
    assert out == "A001 → counter 3\n"
    code, out, _ = cli("tag", "finish", "A001", "--counter", "3")
    code, out, _ = cli("tag", "show", "A001", "--json")
    kinds = [e["kind"] for e in as_json(out)["events"]]
    assert kinds == [
        "issued",
        "called",
        "recalled",
        "parked",
        "resumed",
        "transferred",
        "called",
        "finished",
    ]


def test_slip_wait_and_counters(cli, tmp_path):
    cli("tag", "issue", "--service", "P", "--slip", str(tmp_path / "p.pdf"))
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    code, out, _ = cli("tag", "wait", "--json")
    p = next(s for s in as_json(out)["services"] if s["service"] == "P")
    assert (p["waiting"], p["counters"], p["wait_minutes"]) == (1, 3, 2)
    code, out, _ = cli("counter", "services", "2", "--set", "a,p", "--json")
    assert as_json(out) == {"counter": 2, "services": ["A", "P"]}
    code, out, _ = cli("counter", "list", "--json")
    assert as_json(out)["counters"][1] == {
        "counter": 2,
        "name": "Counter 2",
        "active": True,
        "services": ["A", "P"],
    }


def test_appointments_from_the_command_line(cli, tmp_path):
    code, out, _ = cli(
        "appointment", "add", "--name", "陳大文", "--id-number", "1234567(3)", "--service", "A",
        "--date", "2026-11-23", "--slot", "10:00-10:30", "--json",
    )  # fmt: skip
    booked = as_json(out)
    assert (code, booked["status"], booked["slot"]) == (0, "booked", "10:00-10:30")
    csv = tmp_path / "day.csv"
    csv.write_text(
        "name,id_number,service,date,slot\n"
        "LEI SIO MUI,1304918(5),B,2026-11-23,11:00-11:30\n"
        "nobody,??,B,2026-11-23,11:00-11:30\n",
        encoding="utf-8",
    )
    code, out, err = cli("appointment", "import", str(csv), "--json")
    assert code == 2 and len(as_json(out)["imported"]) == 1
    assert err.strip() == f"clerk: {csv}:3: '??' is not an ID number (e.g. 1234567(8))"
    code, out, _ = cli("appointment", "check-in", booked["booking_code"], "--json")
    assert as_json(out) == {
        "tag": "A001",
        "service": "A",
        "number": 1,
        "day": "2026-11-23",
        "late": False,
    }
    code, out, _ = cli("appointment", "list", "--json")
    rows = as_json(out)["appointments"]
    assert [(r["name"], r["status"], r["tag"]) for r in rows] == [
        ("陳大文", "checked-in", "A001"),
        ("LEI SIO MUI", "booked", None),
    ]
