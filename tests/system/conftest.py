"""Fixtures shared by the system tests.

The private pcscd is one per test session: defined here once, so that every module uses the same
daemon. A session-scoped fixture imported into each test module would be a fixture of that module:
a second module would start its own pcscd and wait for the first one's machine lock.
"""

from tests.system.conftest_pcsc import pcscd, slot  # noqa: F401
