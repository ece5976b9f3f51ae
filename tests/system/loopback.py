"""Helpers for system tests that start a server on the loopback address."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(proc: subprocess.Popen, port: int, what: str, timeout: float) -> None:
    """Wait for `port` to accept connections; fail with the server's output if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"{what} did not listen on {port}: {proc.stdout.read().decode()}")
