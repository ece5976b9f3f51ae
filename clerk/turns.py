"""SQLite writers of every process take turns on an flock of a side file.

Waiting in SQLite's busy handler instead leaves the database idle while writers sleep (its
back-off grows to 100 ms): with 8 processes that halved the queue's throughput and stretched p99
past a second. The kernel queues the waiters of a blocking flock and hands the lock on at once,
and releases it when a process dies. Threads of one process share one turn (an RLock in front: a
flock belongs to an open file, not to a thread).

A blocking flock has no timeout, yet a writer must not wait for ever behind a process stopped
with Ctrl+Z in the middle of a write: after the busy timeout it stops waiting and SQLite's own
busy timeout gives the clear "database is busy" line. The wait is therefore made interruptible:

- where this process could install a handler for a spare real-time signal (the main thread,
  first use), the waiting thread itself blocks in flock(2) through ctypes — which, unlike
  `fcntl.flock`, does not retry after EINTR — and a watchdog thread sends that thread the signal
  when its deadline passes (again every 50 ms until it has noticed);
- otherwise a helper thread does the blocking flock and hands the lock over, and the waiter
  gives up after the timeout. That costs two thread wake-ups on every hand-over, which on this
  2-core machine was a fifth of the queue's throughput with 8 clerk processes (bench/queue.py).
"""

from __future__ import annotations

import errno
import fcntl
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

_SIGNAL = signal.SIGRTMIN + 6  # spare: glibc keeps the first two real-time signals for itself
_RESEND_S = 0.05


def _ignore(_signum, _frame) -> None:
    """The handler: nothing. The signal is only there to interrupt a flock(2)."""


class _Interrupter:
    """Blocking flock(2) in the waiting thread, interrupted by a watchdog at the deadline."""

    def __init__(self) -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        self._flock = libc.flock
        self._flock.argtypes = (ctypes.c_int, ctypes.c_int)
        self._flock.restype = ctypes.c_int
        self._get_errno = ctypes.get_errno
        self._cond = threading.Condition()
        self._waits: dict[int, list] = {}  # token -> [deadline, thread ident, fired]
        self._next = 0
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    @classmethod
    def install(cls) -> _Interrupter | None:
        """The interrupter, or None where the signal's handler cannot be set (not the main
        thread, or the signal is in use)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        try:
            if signal.getsignal(_SIGNAL) not in (signal.SIG_DFL, _ignore):
                return None
            signal.signal(_SIGNAL, _ignore)
            return cls()
        except (OSError, ValueError, AttributeError):
            return None

    def wait(self, fd: int, timeout_s: float) -> bool:
        token = self._watch(time.monotonic() + timeout_s)
        try:
            while True:
                if self._waits[token][2]:
                    return False
                if self._flock(fd, fcntl.LOCK_EX) == 0:
                    return True
                if self._get_errno() != errno.EINTR:
                    raise OSError(self._get_errno(), "flock of the writers' turn failed")
        finally:
            with self._cond:
                self._waits.pop(token, None)

    def _watch(self, deadline: float) -> int:
        if self._pid != os.getpid():
            # a forked child: the parent's watchdog is not here, and its lock may have been
            # held at the fork; start afresh (the signal's handler is inherited)
            self._cond, self._waits, self._thread = threading.Condition(), {}, None
            self._pid = os.getpid()
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="clerk-writer-watchdog", daemon=True
                )
                self._thread.start()
            if all(deadline < entry[0] for entry in self._waits.values()):
                self._cond.notify()  # the soonest deadline now: the watchdog must know
            self._next += 1
            self._waits[self._next] = [deadline, threading.get_ident(), False]
            return self._next

    def _run(self) -> None:
        with self._cond:
            while True:
                now, pending, fired = time.monotonic(), [], False
                for entry in self._waits.values():
                    if entry[0] <= now:
                        # its time is up: interrupt it, and again every 50 ms until it has
                        # noticed (a signal that came just before it entered flock is lost)
                        entry[2] = fired = True
                        with suppress(OSError):
                            signal.pthread_kill(entry[1], _SIGNAL)
                    else:
                        pending.append(entry[0])
                if fired:
                    self._cond.wait(_RESEND_S)
                elif pending:
                    self._cond.wait(min(pending) - now)
                else:
                    self._cond.wait()


class _LockRequest:
    """One wait for the writers' flock, served by the helper thread (the fallback)."""

    __slots__ = ("fd", "gave_up", "got", "guard")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.got = threading.Event()
        self.guard = threading.Lock()
        self.gave_up = False


def _serve_lock_requests(requests: queue.SimpleQueue) -> None:
    """The helper thread: take the flock for each request in turn, and give it straight back
    when the requester stopped waiting meanwhile."""
    while True:
        request = requests.get()
        fcntl.flock(request.fd, fcntl.LOCK_EX)
        with request.guard:
            if request.gave_up:
                fcntl.flock(request.fd, fcntl.LOCK_UN)
            else:
                request.got.set()


_INTERRUPTER: _Interrupter | None = None
_INTERRUPTER_TRIED = False


def _interrupter() -> _Interrupter | None:
    global _INTERRUPTER, _INTERRUPTER_TRIED
    if not _INTERRUPTER_TRIED:
        _INTERRUPTER = _Interrupter.install()
        _INTERRUPTER_TRIED = _INTERRUPTER is not None or (
            threading.current_thread() is threading.main_thread()
        )
    return _INTERRUPTER


class WriterTurn:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.RLock()
        self._fd: int | None = None
        self._pid = 0
        self._depth = 0
        self._requests: queue.SimpleQueue | None = None
        self._helper_pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid, self._depth = os.getpid(), 0
        return self._fd

    def _wait(self, fd: int, timeout_s: float) -> bool:
        """Take the flock; False when it was not free within the timeout."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        interrupter = _interrupter()
        if interrupter is not None:
            return interrupter.wait(fd, timeout_s)
        request = _LockRequest(fd)
        self._helper().put(request)
        if request.got.wait(timeout_s):
            return True
        with request.guard:
            if request.got.is_set():
                return True
            request.gave_up = True
            return False

    def _helper(self) -> queue.SimpleQueue:
        if self._requests is None or self._helper_pid != os.getpid():
            self._requests, self._helper_pid = queue.SimpleQueue(), os.getpid()
            threading.Thread(
                target=_serve_lock_requests,
                args=(self._requests,),
                name="clerk-writer-turn",
                daemon=True,
            ).start()
        return self._requests

    @contextmanager
    def turn(self, timeout_s: float) -> Iterator[None]:
        with self._lock:
            fd = self._file()
            held = self._depth > 0 or self._wait(fd, timeout_s)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and held:
                    fcntl.flock(fd, fcntl.LOCK_UN)


_TURNS: dict[str, WriterTurn] = {}
_TURNS_LOCK = threading.Lock()


def writer_turn(path: Path) -> WriterTurn:
    """One turn per database file and process, whichever `Database` objects share the file."""
    key = str(path.resolve()) + ".write-lock"
    with _TURNS_LOCK:
        turn = _TURNS.get(key)
        if turn is None:
            turn = _TURNS[key] = WriterTurn(key)
        return turn


def prepare_in_main_thread() -> None:
    """Set the interrupting signal's handler now (call from the main thread at start-up), so
    that writers in worker threads wait the quick way too."""
    _interrupter()
