"""A private pcscd with the vpcd driver, for the card system tests and `bench/card.py`.

pcscd's socket is always /run/pcscd/pcscd.comm, so there is one pcscd per machine: the fixture is
session-scoped, refuses to start beside a pcscd it did not start (never kills one), removes stale
files a crashed pcscd left behind, and stops its own pcscd (and removes the socket files) however
the session ends. pcscd reads every file of its --config folder, so that folder holds only
reader.conf. Not `--auto-exit`: that quits after 60 s idle.

The fixtures reach every system test through tests/system/conftest.py (one pcscd a session).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clerk.devices.reader import NO_CARD, PRESENT, CardFailure, PcscReader, ReaderState
from clerk.devices.vpcd import VPCD_PORT, VpcdCard

RUN_DIR = Path("/run/pcscd")
DRIVERS = (
    Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"),
    Path("/usr/lib/x86_64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so"),
)
READER = "Clerk Test vpcd"
SLOT0 = f"{READER} 00 00"
WAIT = 10.0  # seconds for pcscd to start or notice a card; far above the ~0.4 s it takes
LOCK = Path(tempfile.gettempdir()) / "clerk-pcscd-tests.lock"
LOCK_WAIT = 300.0  # another test run on this machine holds pcscd: wait for it this long


class ForeignPcscd(RuntimeError):
    pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_pcscd() -> str | None:
    return shutil.which("pcscd") or next(
        (p for p in ("/usr/sbin/pcscd", "/sbin/pcscd") if Path(p).exists()), None
    )


def find_driver() -> Path | None:
    return next((p for p in DRIVERS if p.exists()), None)


class PrivatePcscd:
    """pcscd --foreground with a reader.conf of its own (vpcd on 35963/35964)."""

    def __init__(self, binary: str, driver: Path, folder: Path):
        self.binary, self.driver, self.folder = binary, driver, folder
        self.conf = folder / "conf"
        self.empty = folder / "empty"
        self.log = folder / "pcscd.log"
        self.process: subprocess.Popen | None = None
        self.with_readers = True
        for d in (self.conf, self.empty):
            d.mkdir(parents=True, exist_ok=True)
        (self.conf / "reader.conf").write_text(
            f'FRIENDLYNAME "{READER}"\n'
            f"DEVICENAME /dev/null:0x{VPCD_PORT:04X}\n"
            f"LIBPATH {driver}\n"
            f"CHANNELID 0x{VPCD_PORT:04X}\n",
            encoding="utf-8",
        )
        atexit.register(self.stop)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _clear_stale(self) -> None:
        pid_file = RUN_DIR / "pcscd.pid"
        try:
            pid = int(pid_file.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and _alive(pid) and not (self.process and self.process.pid == pid):
            raise ForeignPcscd(f"another pcscd is running (pid {pid}); stop it first")
        for name in ("pcscd.comm", "pcscd.pid"):
            (RUN_DIR / name).unlink(missing_ok=True)

    def start(self, *, readers: bool = True) -> None:
        self.stop()
        self._clear_stale()
        self.with_readers = readers
        conf = self.conf if readers else self.empty
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "--foreground", "--config", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"pcscd exited at once; see {self.log}")
            try:
                names = PcscReader().readers()
                if not readers or SLOT0 in names:
                    return
            except CardFailure:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"pcscd did not come up within {WAIT} s; see {self.log}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(3)
        if process is not None:
            for name in ("pcscd.comm", "pcscd.pid"):  # ours: gone with it
                (RUN_DIR / name).unlink(missing_ok=True)

    def restart(self, *, readers: bool = True) -> None:
        self.stop()
        self.start(readers=readers)


def wait_state(reader: PcscReader, wanted: str, timeout: float = WAIT) -> ReaderState:
    """Wait until pcscd reports `wanted` for the reader (changes arrive as they happen)."""
    deadline = time.monotonic() + timeout
    state = reader.state()
    while state.state != wanted and time.monotonic() < deadline:
        state = reader.wait_for_change(state, 0.2)
    assert state.state == wanted, f"after {timeout} s the reader is {state}, not {wanted}"
    return state


class Slot:
    """vpcd's first slot: put a simulated card in, take it out (and wait until pcscd sees it)."""

    def __init__(self, *, quickack: bool = True):
        self.reader = PcscReader(SLOT0)
        self.quickack = quickack
        self.vpcd: VpcdCard | None = None

    def insert(self, card) -> VpcdCard:
        self.remove()
        self.vpcd = VpcdCard(card, quickack=self.quickack).insert()
        assert self.vpcd.wait_inserted(WAIT), "vpcd did not accept the card"
        wait_state(self.reader, PRESENT)
        return self.vpcd

    def remove(self, *, wait: bool = True) -> None:
        vpcd, self.vpcd = self.vpcd, None
        if vpcd is not None:
            vpcd.remove()
            if wait:
                wait_state(self.reader, NO_CARD)


def start_private_pcscd(folder: Path) -> PrivatePcscd:
    """For scripts (bench): start one or raise RuntimeError saying what is missing."""
    binary, driver = find_pcscd(), find_driver()
    if binary is None or driver is None:
        raise RuntimeError("pcscd and vsmartcard-vpcd are needed (Debian packages)")
    daemon = PrivatePcscd(binary, driver, folder)
    daemon.start()
    return daemon


@pytest.fixture(scope="session")
def pcscd():
    from tests.conftest import missing_component

    binary, driver = find_pcscd(), find_driver()
    if binary is None:
        missing_component("pcscd (Debian package pcscd)")
    if driver is None:
        missing_component("the vpcd reader driver (Debian package vsmartcard-vpcd)")
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        missing_component("pyscard with libpcsclite1")
    if os.geteuid() != 0 and not os.access(RUN_DIR if RUN_DIR.exists() else "/run", os.W_OK):
        missing_component(f"write access to {RUN_DIR} for a private pcscd (run as root)")
    folder = Path(tempfile.mkdtemp(prefix="clerk-pcscd-"))
    daemon = PrivatePcscd(binary, driver, folder)
    with _machine_lock():
        try:
            try:
                daemon.start()
            except ForeignPcscd as exc:
                missing_component(f"a machine free of other pcscd ({exc})")
            yield daemon
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _machine_lock() -> Iterator[None]:
    """One test run at a time may own the machine's pcscd (two suites running at once)."""
    with LOCK.open("a") as handle:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another test run holds {LOCK}") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def slot(pcscd):
    """An empty slot with pcscd running with its readers (whatever the last test did to it)."""
    if not (pcscd.running and pcscd.with_readers):
        pcscd.start()
    holder = Slot()
    wait_state(holder.reader, NO_CARD)
    try:
        yield holder
    finally:
        holder.remove(wait=False)
