"""Printing a PDF: through CUPS (`lp -d NAME -o media=…`, by subprocess) or into a folder.

`printer.kind = "cups"` sends the PDF on lp's standard input (honours CUPS_SERVER, so a private
cupsd works too); `printer.kind = "folder"` writes it into `printer.folder` (default
`<user data dir>/print`), for offices that print from another machine and for tests. A failure is
a `Failure` with one clear line; the caller decides what the clerk sees.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clerk.errors import Failure, UsageError

if TYPE_CHECKING:
    from clerk.config import PrinterConfig

LP_TIMEOUT_S = 30
SAFE_TITLE = re.compile(r"[^0-9A-Za-z._-]+")


@dataclass(frozen=True)
class Printed:
    where: str  # "PDF-12" (the CUPS job) or the file written
    kind: str  # cups | folder


def default_print_folder() -> Path:
    from clerk.paths import user_data_dir

    return user_data_dir() / "print"


def print_pdf(
    pdf: bytes,
    printer: PrinterConfig,
    *,
    copies: int = 1,
    title: str = "clerk",
    media: str | None = None,
) -> Printed:
    if not pdf.startswith(b"%PDF"):
        raise UsageError("not a PDF document; nothing printed")
    if not 1 <= copies <= 20:
        raise UsageError("copies must be between 1 and 20")
    if printer.kind == "folder":
        return _to_folder(pdf, Path(printer.folder) if printer.folder else None, copies, title)
    if printer.kind == "cups":
        return _to_cups(pdf, printer.name, media or printer.media, copies, title)
    raise Failure(f"unknown printer.kind {printer.kind!r} (cups or folder)")


def _to_folder(pdf: bytes, folder: Path | None, copies: int, title: str) -> Printed:
    from clerk.domain.clock import utcnow

    folder = folder or default_print_folder()
    stem = f"{utcnow():%Y%m%dT%H%M%S%f}-{SAFE_TITLE.sub('_', title).strip('_') or 'clerk'}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for n in range(1, copies + 1):
            path = folder / (f"{stem}.pdf" if copies == 1 else f"{stem}-{n}.pdf")
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(pdf)
            os.replace(tmp, path)
            written.append(path)
    except OSError as exc:
        raise Failure(f"cannot write the PDF into {folder}: {exc.strerror}") from None
    return Printed(str(written[0]), "folder")


def _to_cups(pdf: bytes, name: str, media: str, copies: int, title: str) -> Printed:
    if not name:
        raise Failure("printer.name is not set (the CUPS queue name, see `lpstat -p`)")
    lp = shutil.which("lp")
    if lp is None:
        raise Failure("lp is not installed (Debian package cups-client)")
    argv = [lp, "-d", name, "-n", str(copies), "-t", title[:80]]
    if media:
        argv += ["-o", f"media={media}"]
    try:
        done = subprocess.run(argv, input=pdf, capture_output=True, timeout=LP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Failure(f"printer {name}: lp did not answer within {LP_TIMEOUT_S} s") from None
    except OSError as exc:
        raise Failure(f"printer {name}: cannot run lp: {exc.strerror}") from None
    text = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
    if done.returncode != 0:
        last = text.splitlines()[-1] if text else f"lp exit status {done.returncode}"
        raise Failure(f"printer {name}: {last.removeprefix('lp: ')}")
    found = re.search(r"request id is (\S+)", text)
    return Printed(found.group(1) if found else name, "cups")
