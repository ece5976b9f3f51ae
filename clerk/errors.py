"""Exceptions shared by every layer.

`UsageError` is bad input: the CLI prints its message on one line and exits 2; the TUI shows it
next to the field. `Refused` is a rule or a role saying no (exit 2 as well: the caller asked for
something it may not have). `Failure` is anything else that went wrong in a way we understand
(exit 1). Anything not derived from these is a bug: logged with its traceback, never shown.
"""

import unicodedata


def one_line(text: str) -> str:
    """A message is one line even when it echoes what was typed: line breaks and tabs become
    spaces, control and format characters (ESC, NUL, a bidi override) are shown escaped."""
    out = []
    for ch in str(text):
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


class ClerkError(Exception):
    exit_code = 1

    def __init__(self, message: str):
        message = one_line(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ClerkError):
    """The input is wrong; nothing was changed."""

    exit_code = 2


class Refused(ClerkError):
    """A rule, a role or the state of a record forbids the action; nothing was changed."""

    exit_code = 2


class NotFound(UsageError):
    """The thing named does not exist."""


class Failure(ClerkError):
    """Something outside the input failed (database, device, printer)."""

    exit_code = 1
