"""Cold start to the first painted screen, through a real pty, against a bare Textual app.

    .venv/bin/python bench/startup.py [--runs 10]

Each run starts a fresh process in a pseudo-terminal (100×30, TERM=xterm-256color), feeds its
output to a pyte screen, and stops the clock when a marker text is on the screen: "User name"
for clerk's login screen, "BARE-READY" for the bare app (Header, Input, DataTable, Footer). The
two are run alternately so both see the same machine load. Reports medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
COLS, ROWS = 100, 30

BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer, Header, Input, Static
class Bare(App):
    def compose(self):
        yield Header()
        yield Static("BARE-READY")
        yield Input()
        yield DataTable()
        yield Footer()
Bare().run()
"""


def time_to_marker(argv: list[str], marker: str, env: dict[str, str], timeout: float = 30.0):
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
    )
    os.close(slave)
    elapsed = None
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                stream.feed(data)
                if any(marker in line for line in screen.display):
                    elapsed = time.perf_counter() - start
                    break
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    if elapsed is None:
        raise RuntimeError(f"{marker!r} never appeared; screen:\n" + "\n".join(screen.display))
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="clerk-bench-"))
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "CLERK_AUDIT_KEY": "bench-key",
    }
    db = f"sqlite:///{tmp / 'bench.db'}"
    subprocess.run(
        [PY, "-m", "clerk", "demo", "--seed-only", "--db", db],
        env=env,
        check=True,
        capture_output=True,
    )
    bare = tmp / "bare.py"
    bare.write_text(BARE_APP)
    clerk_times, bare_times = [], []
    # one warm-up each (byte-compiled files, page cache), not counted
    time_to_marker([PY, str(bare)], "BARE-READY", env)
    time_to_marker([PY, "-m", "clerk", "--db", db], "User name", env)
    for _ in range(args.runs):
        bare_times.append(time_to_marker([PY, str(bare)], "BARE-READY", env))
        clerk_times.append(time_to_marker([PY, "-m", "clerk", "--db", db], "User name", env))
    b, c = statistics.median(bare_times), statistics.median(clerk_times)
    print(f"runs: {args.runs}")
    print(f"bare Textual app  median {b * 1000:.0f} ms  (min {min(bare_times) * 1000:.0f})")
    print(f"clerk login       median {c * 1000:.0f} ms  (min {min(clerk_times) * 1000:.0f})")
    print(f"ratio clerk/bare  {c / b:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
