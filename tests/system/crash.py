"""Shared machinery of the kill -9 tests (payments, tag calls, lodging, personalisation).

A test prepares a database, then runs the harness in a process of its own:

    python -m tests.system.crash MODULE:SCENARIO URL PARAMS_JSON KILLS SEED

The harness (a process without threads, so that forking it is safe) starts a BYSTANDER process
that keeps doing a clerk's work the whole time, then, round after round, forks a CHILD that does
the scenario's work in a loop and kills it with SIGKILL after a random delay, until `KILLS`
children died that way. The child writes marks into a pipe (`Marks`): R once it is ready, B
before each operation, C once it committed (scenarios add marks of their own), so the harness
knows where each kill landed. The scenario widens the window inside its transaction with short
random pauses (in the child only). The summary (JSON, the last line of stdout) counts kills,
kills in the middle of an operation, operations done, the bystander's operations and errors.

The test then checks the database: every record whole, the day's numbers without a gap, the audit
chain intact, SQLite's integrity check ok (`check_chain_and_integrity`, `assert_gapless`).

A scenario subclasses `Scenario`: `todo()` (in the harness: what the next child works on),
`work(todo, marks, rng)` (in the child: until killed), `bystander_step(rng)` (one operation of the
other process), and optionally `warm_up()` (compile statements before forking), `after_kill()`.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 20.0  # seconds for a child to get ready (a card to be seen by pcscd)
BYSTANDER_STOP = 30.0  # seconds for the bystander to finish its operation and report


class Marks:
    """The child's side of the pipe: one byte per event, written before anything can be lost."""

    def __init__(self, fd: int):
        self.fd = fd

    def put(self, mark: bytes) -> None:
        os.write(self.fd, mark)

    def ready(self) -> None:
        self.put(b"R")

    def begin(self) -> None:
        self.put(b"B")

    def done(self) -> None:
        self.put(b"C")


class Scenario:
    """What one crash test does; the harness runs it. Subclasses override the hooks."""

    kill_after = (0.01, 0.25)  # seconds after the child is ready, uniformly
    rounds_per_kill = 3  # give up after this many rounds per wanted kill
    bystander_rest = (0.0, 0.01)  # seconds between the bystander's operations (a person's pace)

    def __init__(self, ctx, params: dict[str, Any]):
        self.ctx, self.params = ctx, params

    def warm_up(self) -> None:
        """In the harness before each fork: compile statements, load rules (inherited)."""

    def todo(self) -> Any:
        """In the harness: the work of the next child (None: nothing left, stop)."""
        return True

    def work(self, todo: Any, marks: Marks, rng: random.Random) -> None:
        """In the child: work until killed (mark B before and C after each operation)."""
        raise NotImplementedError

    def bystander_step(self, rng: random.Random) -> None:
        """In the bystander: one operation of the clerk who keeps working."""
        raise NotImplementedError

    def after_kill(self, marks: bytes) -> None:
        """In the harness after each kill (e.g. to swap a card)."""

    def finish(self) -> dict[str, Any]:
        """In the harness at the end: extra numbers for the summary."""
        return {}


def slowed(fn: Callable, rng: random.Random, most: float = 0.004, after: bool = False) -> Callable:
    """`fn` with a random pause of up to `most` seconds before (or after) it: widens the window
    in which a kill lands inside the transaction. For the child only."""

    def wrapper(*args, **kwargs):
        if not after:
            time.sleep(rng.uniform(0, most))
        result = fn(*args, **kwargs)
        if after:
            time.sleep(rng.uniform(0, most))
        return result

    return wrapper


# --- the bystander -------------------------------------------------------------------------------


def _bystander(scenario: Scenario, fd: int, seed: int) -> None:
    """Work until SIGTERM; then report {"ops", "errors", "slowest"} as JSON on `fd`."""
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    rng = random.Random(seed)
    ops, errors, slowest = 0, [], 0.0
    while not stop["now"]:
        started = time.monotonic()
        try:
            scenario.bystander_step(rng)
            ops += 1
        except Exception as exc:  # noqa: BLE001 - reported to the harness
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
            if len(errors) > 20:
                break
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(rng.uniform(*scenario.bystander_rest))
    os.write(fd, json.dumps({"ops": ops, "errors": errors[:5], "slowest": slowest}).encode())


def start_bystander(scenario: Scenario, seed: int) -> tuple[int, int]:
    """Fork a process that repeats `scenario.bystander_step` until `stop_bystander`; (pid, fd).
    Dispose of the database engine before: no connection may cross the fork."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _bystander(scenario, write_fd, seed)
        finally:
            os._exit(0)
    os.close(write_fd)
    return pid, read_fd


def stop_bystander(pid: int, read_fd: int) -> dict[str, Any]:
    """Stop it after its current operation: {"ops", "errors", "slowest"}."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + BYSTANDER_STOP
    while time.monotonic() < deadline:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_fd)
        return {"ops": 0, "errors": ["the bystander hung: it never finished its operation"]}
    text = _read_all(read_fd)
    return json.loads(text or b'{"ops": 0, "errors": ["the bystander said nothing"]}')


# --- the harness ----------------------------------------------------------------------------------


def _read_all(fd: int) -> bytes:
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    os.close(fd)
    return data


def _wait_ready(fd: int, timeout: float) -> bytes:
    """Marks up to and including R (or whatever came before the child died or the timeout)."""
    got = b""
    deadline = time.monotonic() + timeout
    while b"R" not in got and time.monotonic() < deadline:
        readable, _w, _x = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        got += chunk
    return got


def _child(scenario: Scenario, todo: Any, write_fd: int, seed: int) -> None:
    marks = Marks(write_fd)
    try:
        scenario.work(todo, marks, random.Random(seed))
    except BaseException as exc:  # noqa: BLE001 - reported to the harness
        os.write(write_fd, b"E" + f"{type(exc).__name__}: {exc}".encode()[:500])
    finally:
        os._exit(1)


def harness(cls: type[Scenario], url: str, params: dict[str, Any], kills: int, seed: int):
    from clerk.context import Context

    rng = random.Random(seed)
    ctx = Context(db_url=url)
    scenario = cls(ctx, params)
    scenario.warm_up()
    ctx.db.dispose()  # no connection crosses a fork
    started = time.monotonic()
    bystander_pid, bystander_fd = start_bystander(scenario, seed + 1)
    done = mid = ops = rounds = 0
    errors: list[str] = []
    kinds: dict[str, int] = {}
    try:
        while done < kills and rounds < kills * scenario.rounds_per_kill and len(errors) < 3:
            rounds += 1
            todo = scenario.todo()
            if todo is None:
                errors.append("the scenario ran out of work")
                break
            scenario.warm_up()
            ctx.db.dispose()
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child(scenario, todo, write_fd, seed * 1000 + rounds)
            os.close(write_fd)
            early = _wait_ready(read_fd, READY_TIMEOUT)
            if b"R" in early:
                time.sleep(rng.uniform(*scenario.kill_after))
            os.kill(pid, signal.SIGKILL)
            _pid, status = os.waitpid(pid, 0)
            marks = early + _read_all(read_fd)
            if b"E" in marks:
                errors.append(marks[marks.index(b"E") + 1 :].decode(errors="replace"))
                continue
            if b"R" not in marks:
                errors.append(f"the child was not ready within {READY_TIMEOUT} s")
                continue
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                done += 1
                ops += marks.count(b"C")
                last = marks.rstrip(b"R")[-1:].decode() or "R"
                kinds[last] = kinds.get(last, 0) + 1
                mid += last not in ("R", "C")
            scenario.after_kill(marks)
    finally:
        bystander = stop_bystander(bystander_pid, bystander_fd)
    return {
        "kills": done,
        "rounds": rounds,
        "mid": mid,  # the kill landed after B (or a scenario's mark) and before C
        "last_marks": kinds,  # the last mark before each kill: where the kills landed
        "ops": ops,
        "errors": errors[:3],
        "bystander_ops": bystander.get("ops", 0),
        "bystander_errors": bystander.get("errors", []),
        "bystander_slowest_s": round(bystander.get("slowest", 0.0), 3),
        "seconds": round(time.monotonic() - started, 1),
        **scenario.finish(),
    }


def run_harness(
    scenario: str,
    url: str,
    params: dict[str, Any],
    kills: int,
    seed: int = 7,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> dict[str, Any]:
    """Run the harness for `scenario` ("module:Class") in a process of its own; its summary."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.system.crash", scenario, url, json.dumps(params),
         str(kills), str(seed)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_summary(summary: dict[str, Any], kills: int, *, min_mid: int = 10) -> None:
    """The run did what it says: enough kills, inside operations, and the bystander kept
    working without an error."""
    assert summary["errors"] == [], summary
    assert summary["kills"] >= kills, summary
    assert summary["mid"] >= min_mid, summary  # the kills did land inside operations
    assert summary["bystander_errors"] == [], summary
    assert summary["bystander_ops"] > 0, summary  # the other process kept working


# --- checks on the database afterwards ---------------------------------------------------------


def assert_gapless(numbers, what: str) -> None:
    """1, 2, …, n in some order, each once."""
    got = sorted(numbers)
    assert got == list(range(1, len(got) + 1)), f"{what}: {got[:5]}…{got[-5:]} has a gap"


def check_chain_and_integrity(ctx) -> int:
    """The audit chain verifies and SQLite's integrity check is ok; the chain's length."""
    from clerk.domain import audit

    with ctx.db.read() as s:
        chain = audit.verify(s, ctx.audit_key)
    assert chain.ok, chain.problem
    assert ctx.db.integrity_check() == "ok"
    return chain.checked


def audited(ctx, action: str) -> list[int]:
    """The subject ids of the audit events of `action`, in chain order (repeats kept)."""
    from sqlmodel import select

    from clerk.domain.models import AuditEvent

    with ctx.db.read() as s:
        return list(
            s.exec(
                select(AuditEvent.subject_id)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            ).all()
        )


def report_line(ctx, what: str, summary: dict[str, Any]) -> str:
    """One line for the test log (and docs/benchmarks.md)."""
    return (
        f"{what} on {ctx.db.dialect}: {summary['kills']} kills ({summary['mid']} mid-operation, "
        f"last marks {summary['last_marks']}), {summary['ops']} done by the killed children, "
        f"{summary['bystander_ops']} by the bystander "
        f"(slowest {summary['bystander_slowest_s']} s), "
        f"{summary['seconds']} s"
    )


if __name__ == "__main__":
    where, url, params, kills, seed = sys.argv[1:6]
    module, _colon, name = where.partition(":")
    cls = getattr(importlib.import_module(module), name)
    print(json.dumps(harness(cls, url, json.loads(params), int(kills), int(seed))))
