"""Exceptions shared by every layer.

`UsageError` is bad input: the CLI prints its message on one line and exits 2; the TUI shows it
next to the field. `Refused` is a rule or a role saying no (exit 2 as well: the caller asked for
something it may not have). `Failure` is anything else that went wrong in a way we understand
(exit 1). Anything not derived from these is a bug: logged with its traceback, never shown.
"""


class ClerkError(Exception):
    exit_code = 1

    def __init__(self, message: str):
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
