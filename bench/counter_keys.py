"""The counter screen through a real pty: keystroke → screen, "call next" → tag on screen, memory.

    .venv/bin/python bench/counter_keys.py                       # demo office + 2,000 tags today
    .venv/bin/python bench/counter_keys.py --history 1000000     # … + a year of applications
    .venv/bin/python bench/counter_keys.py --keys 300 --calls 100 --others 8 --soak 600

A fresh database gets the demo office (`clerk demo --seed-only`), `--history N` historical
applications with their tags, payments and audit events (`clerk demo --scale N`), and 2,000 tags
issued today, all but the last `--waiting` (default 40) already called and finished at the other
counters, as by mid-afternoon (`--waiting 2000`: a queue of all of them). Then `clerk` runs in
a pseudo-terminal (120×40, TERM=xterm-256color) whose output feeds a pyte screen; the clerk
logs in and opens the counter screen (F4).

- Keystrokes: digits and backspaces typed into the applicant field of the Identify step, one at
  a time at a fast typist's pace (60–150 ms apart); each is timed from the write to the pty
  until the field on the pyte screen shows it.
- Call next: F5 on the counter panel of the queue screen (F2), timed until the panel shows the
  new tag, while `--others` clerk processes call and issue tags as fast as they can on the same
  database (the work of a whole office in a few seconds).
- Memory: the TUI process's resident set (VmRSS, and its peak VmHWM) after login, and after
  `--soak` rounds of simulated counter work (call the next tag, type an ID number, rub it out,
  back to the call), more calls and keys than an hour of one clerk's work.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import pty
import random
import re
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # `clerk` from the checkout (bench/ would shadow nothing, but be safe)
PY = sys.executable
COLS, ROWS = 120, 40
FORK = multiprocessing.get_context("fork")
TAG_RE = re.compile(r"\b([ABCP]\d{3,4})\b")


class Terminal:
    """`clerk` in a pty, its screen kept by pyte."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        import fcntl
        import termios

        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.arrived = 0.0  # when the last output was read from the pty
        self.master, slave = pty.openpty()
        os.set_blocking(self.master, False)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)

    def pump(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):
                data = os.read(self.master, 1 << 16)
                self.arrived = time.perf_counter()
                self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, predicate, timeout: float = 30.0, since: float | None = None) -> float:
        """Seconds from `since` (default: now) until the output that makes `predicate(screen
        text)` hold arrived from the pty. The arrival is timed when it is read, before pyte
        (pure Python, several ms for a full screen) decodes it: a real terminal's part is not
        the app's."""
        start = time.perf_counter() if since is None else since
        self.arrived = start
        while time.perf_counter() - start < timeout:
            if predicate(self.text()):
                return self.arrived - start
            self.pump(0.002)
        raise RuntimeError("the screen never showed what was expected:\n" + self.text())

    def wait_text(self, marker: str, timeout: float = 30.0) -> float:
        return self.wait_for(lambda text: marker in text, timeout)

    def send(self, data: str | bytes) -> float:
        os.write(self.master, data.encode() if isinstance(data, str) else data)
        return time.perf_counter()

    def settle(self, quiet: float = 0.3) -> None:
        """Read until the screen has not changed for `quiet` seconds."""
        last, since = self.text(), time.perf_counter()
        while time.perf_counter() - since < quiet:
            self.pump(0.02)
            now = self.text()
            if now != last:
                last, since = now, time.perf_counter()

    def rss(self) -> tuple[int, int]:
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        return _kib(fields["VmRSS"]), _kib(fields["VmHWM"])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)


def _kib(value: str) -> int:
    return int(value.split()[0])


KEYS = {"F2": "\x1bOQ", "F4": "\x1bOS", "F5": "\x1b[15~", "ESC": "\x1b", "ENTER": "\r"}


def login(term: Terminal) -> None:
    term.wait_text("User name")
    term.settle()
    for part in ("ana", "\t", "clerk-ana-1", "\r"):
        term.send(part)
        term.settle(0.15)
    term.wait_text("Today's queue", timeout=60)
    term.settle()


def _field_line(text: str, row_marker: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if row_marker in line and i + 1 < len(lines):
            return lines[i + 1]
    return ""


def keystrokes(term: Terminal, count: int, rng: random.Random) -> list[float]:
    """Type digits (and sometimes a backspace) into the Identify field; time each echo."""
    term.send(KEYS["F4"])
    term.wait_text("F5 next tag")
    term.settle()
    term.send(KEYS["F5"])
    term.wait_text("Who is the applicant?")
    term.settle()
    typed, timings = "", []
    for _ in range(count):
        if typed and (len(typed) >= 12 or rng.random() < 0.2):
            key, typed = "\x7f", typed[:-1]
        else:
            key = rng.choice("0123456789")
            typed += key
        # a fast typist's pace: keys closer than `[collection] scanner_gap_ms` (30 ms) would be
        # held back as a possible barcode scanner's burst, as they should
        pause_until = time.perf_counter() + rng.uniform(0.06, 0.15)
        while time.perf_counter() < pause_until:
            term.pump(0.005)
        start = term.send(key)

        def shows(text: str, want: str = typed) -> bool:
            field = _field_line(text, "Who is the applicant?").strip()
            return field == want if want else "ID card number or name" in field

        timings.append(term.wait_for(shows, timeout=10, since=start) * 1000)
    for _ in typed:
        term.send("\x7f")
    term.send(KEYS["ESC"])
    term.settle()
    term.send(KEYS["ESC"])
    term.wait_text("Today's queue")
    term.settle()
    return timings


def _panel_tag(text: str) -> str | None:
    """The tag code shown on the counter panel of the queue screen."""
    for line in text.splitlines()[:12]:
        found = TAG_RE.search(line)
        if found and "│" in line:
            return found.group(1)
    return None


def calls(term: Terminal, count: int) -> list[float]:
    """F5 on the queue screen; time until the panel shows a tag other than the one before."""
    term.send(KEYS["F2"])
    term.wait_text("Counter 1")
    term.settle(0.5)
    timings = []
    for _ in range(count):
        before = _panel_tag(term.text())
        start = term.send(KEYS["F5"])
        shown = term.wait_for(
            lambda text, b=before: (_panel_tag(text) or b) != b, timeout=30, since=start
        )
        timings.append(shown * 1000)
        term.settle(0.05)
    term.send(KEYS["ESC"])
    term.wait_text("Today's queue")
    term.settle()
    return timings


def _to_call_step(term: Terminal) -> None:
    """Back to the Call step of the counter screen (Esc steps back one step at a time; the next
    Esc only once this one has shown its step: the panel's clock changes the screen meanwhile)."""
    panel = "╭─ Counter 1"  # the call step's tag panel
    for _ in range(6):
        if panel in term.text():
            return
        before = _step_line(term.text())
        term.send(KEYS["ESC"])
        try:
            term.wait_for(lambda text, b=before: panel in text or _step_line(text) != b, timeout=10)
        except RuntimeError:
            continue
        term.settle(0.1)
    term.wait_text(panel)


def _step_line(text: str) -> str:
    """The counter flow's step bar (second line of the screen)."""
    lines = text.splitlines()
    return lines[1] if len(lines) > 1 else ""


def soak(term: Terminal, rounds: int, ids: list[str], rng: random.Random) -> None:
    """Counter work: call the next tag, type an ID number, rub it out, back to the call."""
    term.send(KEYS["F4"])
    term.wait_for(lambda text: "╭─ Counter 1" in text or "Who is the applicant?" in text)
    term.settle()
    for _ in range(rounds):
        _to_call_step(term)
        term.send(KEYS["F5"])
        term.wait_text("Who is the applicant?")
        term.settle(0.1)
        number = rng.choice(ids)
        for char in number:
            term.send(char)
            term.settle(0.03)
        term.send("\x7f" * len(number))
        term.settle(0.1)
    _to_call_step(term)
    term.send(KEYS["ESC"])
    term.settle()


# --- the other clerks ---------------------------------------------------------------------------


def _other_clerk(url: str, counter: int, stop, pace: float = 0.0) -> None:
    from clerk.context import Context
    from clerk.domain import queue
    from clerk.domain.auth import SYSTEM

    ctx = Context(db_url=url)
    rng = random.Random(counter)
    while not stop.is_set():
        try:
            if rng.random() < 0.5:
                queue.issue_tag(ctx, SYSTEM, rng.choice("AABC"))
            else:
                queue.call_next(ctx, SYSTEM, counter)
        except Exception:  # noqa: BLE001 - a refusal (closed, capped) is part of the load
            time.sleep(0.01)
        if pace:
            time.sleep(rng.uniform(0.5, 1.5) * pace)
    ctx.close()


# --- set-up -------------------------------------------------------------------------------------


def prepare(
    url: str, env: dict[str, str], history: int, tags: int, waiting: int, seed: bool = True
) -> list[str]:
    run = {"env": env, "cwd": ROOT, "check": True, "capture_output": True}
    if seed:
        subprocess.run([PY, "-m", "clerk", "--db", url, "demo", "--seed-only"], **run)
    if history:
        started = time.perf_counter()
        subprocess.run(
            [PY, "-m", "clerk", "--db", url, "demo", "--seed-only", "--scale", str(history)], **run
        )
        print(f"history of {history} applications: {time.perf_counter() - started:.0f} s")
    from sqlmodel import select

    from clerk.context import Context
    from clerk.domain import queue
    from clerk.domain.auth import SYSTEM
    from clerk.domain.models import Applicant

    ctx = Context(db_url=url)
    for i in range(tags):
        queue.issue_tag(ctx, SYSTEM, "AAABCP"[i % 6])
    served = [row.tag for row in queue.list_tags(ctx) if row.status == "waiting"]
    for n, code in enumerate(served[: max(0, len(served) - waiting)]):
        counter = 2 + n % 5  # the demo office has counters 1-6
        queue.call_tag(ctx, SYSTEM, counter, code)
        queue.finish(ctx, SYSTEM, code, counter)
    with ctx.db.read() as s:
        ids = list(s.exec(select(Applicant.id_number).limit(200)).all())
    ctx.close()
    return ids


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{name}: n={len(values)} median {statistics.median(values):.1f} ms, "
        f"p95 {p95:.1f} ms, max {max(values):.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=0, help="historical applications")
    parser.add_argument("--tags", type=int, default=2000, help="tags issued today")
    parser.add_argument(
        "--waiting", type=int, default=40, help="of those, still waiting (the rest finished)"
    )
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--others", type=int, default=8, help="other clerk processes")
    parser.add_argument(
        "--pace", type=float, default=0.0, help="seconds between the others' calls (0: flat out)"
    )
    parser.add_argument("--soak", type=int, default=600, help="rounds of counter work")
    parser.add_argument(
        "--db", help="a prepared database (e.g. from `clerk demo --scale N`): tags are added"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="clerk-bench-keys-"))
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "CLERK_AUDIT_KEY": os.environ.get("CLERK_AUDIT_KEY", "bench-key"),
        "CLERK_UI_IDLE_LOCK_MINUTES": "0",
    }
    os.environ.update({k: env[k] for k in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME")})
    os.environ["CLERK_AUDIT_KEY"] = env["CLERK_AUDIT_KEY"]
    url = args.db or f"sqlite:///{tmp / 'office.db'}"
    ids = prepare(url, env, args.history, args.tags, args.waiting, seed=not args.db)
    rng = random.Random(7)
    term = Terminal([PY, "-m", "clerk", "--db", url, "--counter", "1"], env)
    try:
        login(term)
        rss_login = term.rss()
        keys = keystrokes(term, args.keys, rng)
        print(summary("keystroke → field", keys), flush=True)
        stop = FORK.Event()
        others = [
            FORK.Process(target=_other_clerk, args=(url, 2 + n, stop, args.pace))
            for n in range(args.others)
        ]
        for p in others:
            p.start()
        time.sleep(1.0)  # let them connect and get going
        try:
            call = calls(term, args.calls)
        finally:
            stop.set()
            for p in others:
                p.join(30)
        pace = f", one call or issue each every ~{args.pace:g} s" if args.pace else ", flat out"
        name = f"call next → tag shown ({args.others} other clerks{pace})"
        print(summary(name, call), flush=True)
        started = time.perf_counter()
        soak(term, args.soak, ids, rng)
        rss_after = term.rss()
        print(
            f"memory: VmRSS {rss_login[0] / 1024:.0f} MiB after login, "
            f"{rss_after[0] / 1024:.0f} MiB after {args.soak} rounds of counter work "
            f"({time.perf_counter() - started:.0f} s); peak VmHWM {rss_after[1] / 1024:.0f} MiB"
        )
    except BaseException:
        print(f"kept for a look: {tmp} (the app's log is under state/clerk/log)", file=sys.stderr)
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        term.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
