#!/usr/bin/env python3
"""Extract translatable strings, merge them into the en, zh_Hant and pt catalogs, compile .mo.

.venv/bin/python scripts/i18n.py            # extract + update + compile
.venv/bin/python scripts/i18n.py --check    # exit 1 if a message lacks a translation
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "clerk" / "locale"
POT = LOCALE / "clerk.pot"
LANGS = ("en", "zh_Hant", "pt")


def template() -> Catalog:
    """A fresh copy of the extracted messages (Babel shares message objects on update)."""
    with POT.open("rb") as fh:
        return read_po(fh)


def extract() -> Catalog:
    subprocess.run(
        [
            str(ROOT / ".venv/bin/pybabel"),
            "extract",
            "-k",
            "_",
            "-k",
            "N_",
            "-k",
            "ngettext:1,2",
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-o",
            str(POT),
            "clerk",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with POT.open("rb") as fh:
        return read_po(fh)


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "clerk.po"


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as fh:
            return read_po(fh, locale=lang)
    return Catalog(locale=lang, project="clerk", domain="clerk")


def save(lang: str, catalog: Catalog) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(
            fh,
            catalog,
            omit_header=False,
            sort_output=True,
            no_location=True,
            ignore_obsolete=True,
            width=100,
        )
    with path.with_suffix(".mo").open("wb") as fh:
        write_mo(fh, catalog, use_fuzzy=False)


def missing(catalog: Catalog, template: Catalog) -> list[str]:
    return [m.id for m in template if m.id and not (catalog.get(m.id) and catalog.get(m.id).string)]


def main() -> int:
    extract()
    gaps = {}
    for lang in LANGS:
        catalog = load(lang)
        catalog.update(template(), no_fuzzy_matching=True)
        if lang == "en":  # the source language: every message is its own translation
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        gaps[lang] = missing(catalog, template())
        if "--check" not in sys.argv:
            save(lang, catalog)
    if "--check" in sys.argv:
        bad = {k: v for k, v in gaps.items() if v}
        for lang, ids in bad.items():
            print(f"{lang}: {len(ids)} untranslated, e.g. {ids[:3]}")
        return 1 if bad else 0
    total = len([m for m in template() if m.id])
    for lang, ids in gaps.items():
        print(f"{lang}: {total - len(ids)} translated, {len(ids)} missing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
