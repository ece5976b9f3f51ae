"""Hostile arguments at every subcommand of `clerk`: exit 0, 1 or 2, never a traceback.

The command tree is read from the parser itself, so a new subcommand is fuzzed without a change
here. Each run is `clerk --db DEMO GROUP ACTION …` with options and positionals drawn from the
command's own option names, valid-looking values and hostile text. Whatever comes back: no
traceback and no "internal error" on stderr; a refusal (exit 2) changes nothing in the database.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clerk.cli import build_parser, main
from tests.unit.test_hostile_forms import db_state, last_audit_id, written_beyond_refusals
from tests.unit.test_hostile_parsers import HUGE, hostile_text, typed

# Not fuzzed: they open a full-screen TUI, serve forever, or talk to the machine's card reader
# (the card commands have their own system tests); `secrets set` writes the secret store.
SKIPPED = {
    ("tui",),
    ("demo",),
    ("serve",),
    ("board",),
    ("card",),
    ("secrets", "set"),
}
# Batch commands report line by line (good lines stored, exit 2 when any line failed).
BATCH = {("appointment", "import"), ("applications", "ready"), ("applications", "production")}
PLAIN = ["A", "B", "1", "2", "0", "-1", "A001", "1234567(3)", "2026-11-24", "10:00-10:30",
         "normal", "renewal", "clerk", "supervisor", "x.pdf", "in", "void", "cash"]  # fmt: skip


def leaf_commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(path, parser) of every runnable subcommand."""
    found = []

    def walk(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append((path, parser))
            return
        for name, child in subs[0].choices.items():
            here = (*path, name)
            if not any(here[: len(skip)] == skip for skip in SKIPPED):
                walk(here, child)

    walk((), build_parser())
    return found


COMMANDS = leaf_commands()


def safe_path(value: str) -> str:
    """Hostile, but never outside the scratch folder the command runs in."""
    value = value.replace("\x00", "").replace("..", "_").lstrip("/~") or "_"
    return "./" + value


def value_for(action: argparse.Action, draw) -> str:
    if action.choices and draw(st.booleans()):
        return str(draw(st.sampled_from(list(action.choices))))
    text = draw(st.one_of(typed, hostile_text, st.sampled_from(PLAIN), st.just(HUGE)))
    text = text.replace("\x00", "")  # the operating system cannot pass NUL in an argument
    metavar = str(action.metavar or action.dest).upper()
    if any(word in metavar for word in ("FILE", "PATH", "OUT", "SLIP", "DIR")):
        return safe_path(text)
    return text


@st.composite
def command_lines(draw) -> list[str]:
    path, parser = draw(st.sampled_from(COMMANDS))
    argv = list(path)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.dest in ("db", "config"):
            continue
        if action.option_strings:
            if not (action.required or draw(st.integers(0, 2)) == 0):
                continue
            argv.append(draw(st.sampled_from(action.option_strings)))
            if action.nargs != 0:
                argv.append(value_for(action, draw))
        elif draw(st.integers(0, 5)):  # a positional, usually given
            argv.append(value_for(action, draw))
    if draw(st.integers(0, 6)) == 0:  # a stray argument
        argv.insert(draw(st.integers(1, len(argv))), value_for(argparse.Action([], "x"), draw))
    return argv


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo database and an empty scratch folder to run in. The parser is built once (argparse
    and gettext cost ~0.2 s a run); `main` is the real one."""
    from clerk import cli

    built = cli.build_parser()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "build_parser", lambda: built)
        yield from _demo(tmp_path_factory)


def _demo(tmp_path_factory):
    from clerk.domain.demo import seed_demo
    from tests.conftest import make_ctx

    folder = tmp_path_factory.mktemp("hostile-cli")
    ctx = make_ctx(f"sqlite:///{folder / 'demo.db'}")
    seed_demo(ctx)
    scratch = folder / "scratch"
    scratch.mkdir()
    yield ctx, scratch
    ctx.close()


@contextmanager
def inside(folder: Path):
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run(capsys, argv: list[str], stdin: str = "") -> tuple[int, str]:
    """`clerk ARGV` with `stdin` as standard input (a password for `user add`, say)."""
    saved, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        code = main(argv)
    except SystemExit as exc:  # --help and --version exit through argparse
        code = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdin = saved
    return code, capsys.readouterr().err


def test_every_command_is_fuzzed():
    names = {" ".join(path) for path, _parser in COMMANDS}
    assert {
        "policy quote",
        "tag issue",
        "receipt check",
        "appointment import",
        "db backup",
    } <= names
    assert len(names) >= 30


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command_lines(), st.one_of(st.just(""), typed, st.just("pass-word-1\n")))
@example(["receipt", "check", "０１２６１１２３０００１２３"], "")
@example(["tag", "issue", "--service", "\x1b[31mA"], "")
@example(["policy", "quote", "--case", "renewal\nloss"], "")
@example(["appointment", "add", "--name", "陳𠮷", "--id-number", "1٢٣٤٥٦٧(٨)", "--service", "A",
          "--date", "2026-13-01", "--slot", "10:00-09:00"], "")  # fmt: skip
@example(["counter", "services", "1", "--set", "A,\u202eB"], "")
@example(["db", "restore", "./_", "--yes"], "")
@example(["user", "add", "\x00ana", "--role", "clerk", "--password-stdin"], "pass\x00word-1\n")
def test_hostile_arguments_never_give_a_traceback(demo, capsys, argv, stdin):
    ctx, scratch = demo
    before, last = db_state(ctx), last_audit_id(ctx)
    with inside(scratch):
        code, err = run(capsys, ["--db", ctx.db.url, *argv], stdin)
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip().splitlines()
    if tuple(argv[:2]) in BATCH:
        return
    if code != 0:  # a failure is said in lines of its own, not dumped
        assert all(line.startswith("clerk") for line in lines), err
    if code == 2:  # bad input: said why, and nothing written
        assert lines, argv
        assert written_beyond_refusals(ctx, before, last) == [], (argv, err)


def test_a_hostile_config_file_is_one_line(demo, capsys, tmp_path):
    ctx, _scratch = demo
    bad = tmp_path / "bad.toml"
    bad.write_text('[office]\nopening = "²:00"\n', encoding="utf-8")
    code, err = run(capsys, ["--db", ctx.db.url, "--config", str(bad), "tag", "list"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "office.opening" in err
