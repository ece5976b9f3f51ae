"""How long a full card personalisation takes through the real PC/SC stack.

    .venv/bin/python bench/card.py [--runs 30] [--slow-runs 5]

Starts a private pcscd with the vpcd driver (needs root, pcscd and vsmartcard-vpcd, and no other
pcscd running), puts the reference card behind vpcd on a thread of this process, and times
`clerk.domain.cards.personalise` end to end: connect, SELECT, serial, life cycle, VERIFY, UPDATE
BINARY in chunks, READ BINARY back, compare (bytes and SHA-256), lock, disconnect, and the SQLite
transaction with its audit event. Between runs the card is wiped in place (same card, still in
the reader) so no run waits for pcscd's ~0.4 s insertion poll. Also timed: the card part alone,
and both with TCP_QUICKACK off (vpcd's split writes then meet delayed ACKs).

Prints a Markdown table for docs/benchmarks.md ("## Card reader").
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PIN = "13579"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pcscd = subprocess.run(["pcscd", "--version"], capture_output=True, text=True).stdout
    version = next((w.rstrip(".") for w in pcscd.split() if w[:1].isdigit()), "?")
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} × {cpu}, "
        f"Python {platform.python_version()}, pcsc-lite {version}"
    )


def _stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"{statistics.median(ms):.1f} | {p95:.1f} | {ms[0]:.1f} | {ms[-1]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--slow-runs", type=int, default=5, help="runs without TCP_QUICKACK")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="clerk-bench-card-"))
    (work / "config.toml").write_text("")
    os.environ.update(
        {
            "CLERK_CONFIG": str(work / "config.toml"),
            "CLERK_AUDIT_KEY": "bench-audit-key",
            "CLERK_CARD_PIN": PIN,
            "CLERK_LOG_DIR": str(work / "log"),
        }
    )
    from clerk.context import Context
    from clerk.devices.card_profile import encode_record, load_profile
    from clerk.devices.reference_card import ReferenceCard
    from clerk.domain import cards
    from tests.system.conftest_pcsc import SLOT0, Slot, start_private_pcscd
    from tests.unit.test_cards_service import Desk

    ctx = Context(db_url=f"sqlite:///{work / 'bench.db'}")
    ctx.db.upgrade()
    desk = Desk(ctx)
    profile = load_profile()
    daemon = start_private_pcscd(work / "pcscd")
    rows = []
    try:
        for quickack, runs in ((True, args.runs), (False, args.slow_runs)):
            slot = Slot(quickack=quickack)
            card = ReferenceCard(profile, PIN)
            vpcd = slot.insert(card)
            app_id = desk.application()
            full, card_only = [], []
            apdus = 0
            record = b""
            for _run in range(runs):
                card.holder[:] = bytes(len(card.holder))
                card.lifecycle = profile.lifecycle_personalisation
                before = vpcd.apdus
                start = time.perf_counter()
                cards.personalise(ctx, desk.actor, slot.reader, app_id, profile, again=True)
                full.append(time.perf_counter() - start)
                apdus = vpcd.apdus - before
                record = encode_record(profile, cards.holder_record(ctx, app_id, profile))
                card.holder[:] = bytes(len(card.holder))
                card.lifecycle = profile.lifecycle_personalisation
                start = time.perf_counter()
                cards._write_card(slot.reader, profile, PIN, record, cards._Seen())
                card_only.append(time.perf_counter() - start)
            slot.remove()
            label = "on" if quickack else "off"
            rows.append(f"| full personalisation, TCP_QUICKACK {label} | {runs} | {_stats(full)} |")
            rows.append(f"| card part only, TCP_QUICKACK {label} | {runs} | {_stats(card_only)} |")
        print(f"Machine: {_machine()}")
        print(f"Reader: {SLOT0} (vpcd), {apdus} APDUs per personalisation,")
        print(f"record {len(record)} bytes in chunks of {profile.chunk_size}; SQLite (WAL, FULL)")
        print()
        print("| what | runs | median ms | p95 ms | min ms | max ms |")
        print("| --- | --- | --- | --- | --- | --- |")
        print("\n".join(rows))
    finally:
        daemon.stop()
        ctx.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
