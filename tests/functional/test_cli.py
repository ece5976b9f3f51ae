"""The command line contract: subcommands, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clerk.cli import main

ROOT = Path(__file__).resolve().parents[2]
CLERK = [sys.executable, "-m", "clerk"]


def run(*args: str, stdin: str | None = None, env: dict | None = None):
    return subprocess.run(
        [*CLERK, *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_help_lists_the_subcommands():
    done = run("--help")
    assert done.returncode == 0
    for name in ("demo", "db", "user", "config", "audit", "tui"):
        assert name in done.stdout


def test_demo_seed_only_twice(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = run("demo", "--seed-only", "--db", url)
    assert first.returncode == 0, first.stderr
    assert "seeded:" in first.stdout and "sup" in first.stdout
    second = run("demo", "--seed-only", "--db", url)
    assert second.returncode == 0, second.stderr
    assert "nothing added" in second.stdout


def test_db_upgrade_twice_is_a_noop(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'y.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert "upgraded" in capsys.readouterr().out
    assert main(["--db", url, "db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--db", "mysql://root@x/y", "db", "upgrade"], "unsupported database"),
        (["--db", "sqlite:////etc/hostname/x.db", "db", "upgrade"], "cannot"),
        (["--config", "/no/such/clerk.toml", "db", "upgrade"], "does not exist"),
        (["user", "add", "ana", "--role", "king"], "invalid choice"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_not_a_traceback(args, needle):
    done = run(*args)
    assert done.returncode in (1, 2)
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_bad_input_exit_code_is_2(capsys):
    assert main(["--config", "/no/such/file.toml", "db", "upgrade"]) == 2
    assert main(["user", "add", "ana"]) == 2  # --role missing
    err = capsys.readouterr().err
    assert "required" in err


def test_user_add_from_stdin_and_list(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    done = run(
        "user",
        "add",
        "lei",
        "--role",
        "supervisor",
        "--password-stdin",
        "--db",
        url,
        stdin="a-long-password\n",
    )
    assert done.returncode == 0, done.stderr
    again = run(
        "user",
        "add",
        "lei",
        "--role",
        "clerk",
        "--password-stdin",
        "--db",
        url,
        stdin="a-long-password\n",
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    short = run(
        "user", "add", "kit", "--role", "clerk", "--password-stdin", "--db", url, stdin="short\n"
    )
    assert short.returncode == 2 and "at least 8" in short.stderr
    listed = run("user", "list", "--json", "--db", url)
    assert '"name":"lei"' in listed.stdout and '"role":"supervisor"' in listed.stdout


def test_schema_missing_is_said(tmp_path):
    done = run("user", "list", "--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert done.returncode == 1 and "clerk db upgrade" in done.stderr


def test_backup_restore_and_audit_verify(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    assert run("demo", "--seed-only", "--db", url).returncode == 0
    verify = run("audit", "verify", "--db", url)
    assert verify.returncode == 0 and "intact" in verify.stdout
    backup = tmp_path / "backup.db"
    assert run("db", "backup", str(backup), "--db", url).returncode == 0
    restore = run("db", "restore", str(backup), "--yes", "--db", url)
    assert restore.returncode == 0, restore.stderr
    refuse = run("db", "restore", str(backup), "--db", url)  # no terminal and no --yes
    assert refuse.returncode == 2 and "--yes" in refuse.stderr


def test_tui_needs_a_terminal(tmp_path):
    done = run("--db", f"sqlite:///{tmp_path / 'z.db'}")
    assert done.returncode == 2 and "needs a terminal" in done.stderr


def test_config_sample_and_show(tmp_path):
    sample = run("config", "sample")
    assert sample.returncode == 0 and "[office]" in sample.stdout
    cfg = tmp_path / "c.toml"
    cfg.write_text(sample.stdout)
    shown = run(
        "config",
        "show",
        "--json",
        "--config",
        str(cfg),
        env={"CLERK_DB_URL": "postgresql://u:hunter2pw@h/db"},
    )
    assert shown.returncode == 0 and "hunter2pw" not in shown.stdout and "***" in shown.stdout
