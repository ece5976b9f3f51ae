"""Layer rules: the domain never imports Textual; screens hold no SQL."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_domain_does_not_import_textual():
    code = (
        "import sys, pkgutil, importlib, clerk.domain\n"
        "for m in pkgutil.walk_packages(clerk.domain.__path__, 'clerk.domain.'):\n"
        "    importlib.import_module(m.name)\n"
        "import clerk.cli, clerk.config, clerk.db\n"
        "bad = sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.'))\n"
        "print(','.join(bad[:5]))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"textual imported by the domain: {done.stdout} {done.stderr}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_screens_and_widgets_hold_no_sql():
    offenders = []
    for folder in ("screens", "widgets"):
        for path in (ROOT / "clerk" / folder).rglob("*.py"):
            bad = {
                n
                for n in _imports(path)
                if n.split(".")[0] in ("sqlalchemy", "sqlmodel", "sqlite3", "psycopg")
                or n == "clerk.domain.models"
            }
            if bad:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert not offenders, offenders


def test_policy_is_pure():
    offenders = []
    for path in (ROOT / "clerk" / "domain" / "policy").rglob("*.py"):
        bad = {
            n
            for n in _imports(path)
            if n.split(".")[0] in ("sqlalchemy", "sqlmodel", "textual", "smartcard")
            or n.startswith(("clerk.db", "clerk.devices", "clerk.domain.models"))
        }
        if bad:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert not offenders, offenders


def test_devices_and_documents_open_no_sessions():
    offenders = []
    for folder in ("devices", "documents"):
        base = ROOT / "clerk" / folder
        for path in base.rglob("*.py") if base.exists() else []:
            bad = {
                n
                for n in _imports(path)
                if n.startswith(("clerk.db", "clerk.screens", "clerk.widgets", "textual"))
            }
            if bad:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert not offenders, offenders
