"""`clerk …`: one command line for the TUI and every script-facing service.

Each command group lives in `clerk/commands/<group>.py` with a `register(subparsers)` function
that adds its parsers and sets `func=handler`; a handler is `handler(args, ctx) -> int | None`.
Handlers import heavy libraries inside the function so that `clerk` opens the TUI fast.

Exit status: 0 success, 2 bad input (one line on stderr), 1 other failure.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from clerk.errors import ClerkError, UsageError

# Textual paints at most TEXTUAL_FPS times a second, and a key's change waits for the next
# paint: at Textual's default of 60 that alone is up to 17 ms of the 25 ms a keystroke may
# take (bench/counter_keys.py). The screens only repaint what changed, so 120 costs nothing
# while idle. Set before Textual is imported; an explicit TEXTUAL_FPS wins.
os.environ.setdefault("TEXTUAL_FPS", "120")

COMMAND_MODULES = (
    "clerk.commands.tui",
    "clerk.commands.db",
    "clerk.commands.user",
    "clerk.commands.config",
    "clerk.commands.policy",
    "clerk.commands.queue",
    "clerk.commands.card",
    "clerk.commands.secrets",
    "clerk.commands.cashier",
    "clerk.commands.collection",
    "clerk.commands.report",
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (raised, so `main` decides the exit)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="database URL (sqlite:///FILE or postgresql+psycopg://…); env CLERK_DB_URL",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="configuration file (TOML); env CLERK_CONFIG",
    )


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="clerk",
        description="Counter workstation for an identity-card office. "
        "Without a subcommand it opens the TUI.",
    )
    _global_options(parser, suppress=False)
    from clerk import __version__

    parser.add_argument("--version", action="version", version=f"clerk {__version__}")
    parser.add_argument(
        "--counter",
        type=int,
        metavar="N",
        help="the counter this terminal serves (default: counter.number in config)",
    )
    parent = ArgumentParser(add_help=False)
    _global_options(parent, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.parent = parent  # type: ignore[attr-defined]  # picked up by commands.add_command
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from clerk.context import Context

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    func = getattr(args, "func", None)
    if func is None:
        from clerk.commands.tui import run_tui

        func = run_tui
    ctx = Context(db_url=args.db, config_path=args.config)
    try:
        result = func(args, ctx)
    except ClerkError as exc:
        print(f"clerk: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("clerk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: the traceback goes to the log, one line to the user
        from clerk.logs import log_exception

        where = log_exception(exc, ctx)
        print(f"clerk: internal error ({type(exc).__name__}); details in {where}", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    return int(result or 0)
