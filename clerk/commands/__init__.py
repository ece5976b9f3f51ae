"""Command groups of the `clerk` command line (see `clerk/cli.py`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_command(sub, name: str, help: str, **kwargs) -> argparse.ArgumentParser:
    """Add a subcommand that also accepts the global `--db`/`--config` after its name."""
    parents = [sub.parent] if getattr(sub, "parent", None) is not None else []
    return sub.add_parser(name, help=help, description=help, parents=parents, **kwargs)


def add_group(sub, name: str, help: str):
    """Add a command group (`clerk NAME ACTION …`); returns the group's subparsers."""
    parser = add_command(sub, name, help)
    group = parser.add_subparsers(dest=f"{name}_action", metavar="ACTION", required=True)
    group.parent = getattr(sub, "parent", None)
    return group


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")
