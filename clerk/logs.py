"""The log file: rotating, owner-only, with personal data masked.

ID card numbers (7–8 digits, optionally with a check digit in brackets) keep only their first two
and last digits; runs of CJK characters (Chinese names) become "＊"; receipt numbers (14 digits)
are kept, they are not personal. Tracebacks go here, never to the clerk's screen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clerk.context import Context

_ID_RE = re.compile(r"(?<!\d)(\d{2})(\d{4,5})(\d)(\(\d\)|\d)?(?!\d)")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_configured: Path | None = None


def mask(text: str) -> str:
    def _id(m: re.Match[str]) -> str:
        digits = m.group(0)
        if len(re.sub(r"\D", "", digits)) > 9:  # not an ID number (receipt, timestamp …)
            return digits
        return m.group(1) + "*" * len(m.group(2)) + m.group(3) + (m.group(4) or "")

    text = _ID_RE.sub(_id, text)
    return _CJK_RE.sub(lambda m: "＊" * len(m.group(0)), text)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def log_dir(ctx: Context | None = None) -> Path:
    if os.environ.get("CLERK_LOG_DIR"):
        return Path(os.environ["CLERK_LOG_DIR"])
    if ctx is not None:
        with contextlib.suppress(Exception):  # a broken config must not stop us logging
            if ctx.config.logging.dir:
                return Path(ctx.config.logging.dir)
    from clerk.paths import user_log_dir

    return user_log_dir()


def setup_logging(ctx: Context | None = None) -> Path:
    """Attach the rotating file handler once per process; returns the log file path."""
    global _configured
    if _configured is not None:
        return _configured
    folder = log_dir(ctx)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "clerk.log"
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(
        MaskingFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger("clerk")
    root.addHandler(handler)
    level = "INFO"
    if ctx is not None:
        with contextlib.suppress(Exception):
            level = ctx.config.logging.level.upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    _configured = path
    return path


def log_exception(exc: BaseException, ctx: Context | None = None) -> Path:
    path = setup_logging(ctx)
    inner = getattr(exc, "error", None)  # a Textual WorkerFailed carries the real one
    if isinstance(inner, BaseException) and inner is not exc:
        exc = inner
    logging.getLogger("clerk").error("unexpected error", exc_info=exc)
    return path
