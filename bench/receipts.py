"""Receipt rendering benchmark: the time to render one A5 receipt PDF (target: median ≤ 15 ms).

    .venv/bin/python bench/receipts.py              # 200 receipts, printed as Markdown
    .venv/bin/python bench/receipts.py --write      # … and written into docs/benchmarks.md
    .venv/bin/python bench/receipts.py --count 500

Each receipt is different (name, number, fee lines, tenders, copy or not), built as the plain data
`clerk.documents.receipt.render_receipt` receives; the time is `render_receipt` alone (layout,
the CJK font's subset, the Code128 bars, the PDF bytes), measured both as wall time
(`time.perf_counter`) and as this process's CPU time (`time.process_time`, less disturbed when
other work shares the machine). Before the timed runs, 5 receipts are rendered to register the
font (a one-off ~0.3 s per process, paid when the TUI prints its first receipt). Then every 10th
PDF is rasterised at 300 dpi and its barcode decoded back (not timed), so a fast but broken
receipt cannot pass.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

TARGET_MS = 15.0
SECTION = "## Receipts"
SURNAMES = ("陳", "李", "黃", "何", "林", "梁", "區", "歐陽", "張", "鄭", "葉", "譚")
GIVEN = ("大文", "小梅", "志強", "詠詩", "美玲", "家豪", "嘉欣", "明", "偉", "慧儀", "子軒", "淑芬")
LATIN = ("CHAN TAI MAN", "LEI SIO MUI", "WONG CHI KEONG", "SOUSA, JOÃO MIGUEL DE",
         "FERREIRA DA SILVA, MARIA JOSÉ", "HO WENG SI", "LAM MEI LENG")  # fmt: skip
FEES = (
    (("身份證申請費", "Taxa do pedido de BIR", "Application fee"), 9000),
    (("快速服務", "Serviço rápido", "Express service"), 15000),
    (("特快服務", "Serviço especial rápido", "Special express service"), 25000),
    (("未能提交原身份證附加費（第2次）", "Sobretaxa por não apresentação do BIR (2.ª vez)",
      "Surcharge: original BIR not presented (2nd time)"), 30000),
    (("外展服務", "Serviço externo", "External service"), 12000),
)  # fmt: skip


READING = (
    "**Reading.** Most of the time is reportlab's own PDF writing, in pure Python here "
    "(number formatting, the TrueType subset of the CJK font, zlib). Four choices keep a "
    "receipt under the target: all text of a page goes into one text object; the cutting of "
    "each string into Latin runs (Helvetica) and CJK runs (AR PL UMing), and their widths, are "
    "cached (the trilingual labels repeat on every receipt); the font subset reads single "
    "glyphs from a view of the font file instead of a 17 MB copy of its `glyf` table "
    "(`clerk.documents.receipt._fast_subsets`, same bytes: a system test compares them); "
    "streams are written without ASCII85. Before these the same receipts took about 45 ms "
    "wall and 20 ms CPU on this machine. Once per process, the first receipt also pays "
    "about 0.3 s to parse the 21 MB font file."
)


def receipts(count: int, seed: int = 11):
    from clerk.documents.receipt import ReceiptData, ReceiptLine, ReceiptTender
    from clerk.domain.receipts import make_receipt_number

    rng = random.Random(seed)
    day = date(2026, 11, 23)
    base = ReceiptData(
        number="",
        status="valid",
        office_names=("身份證明局總部", "Direcção dos Serviços de Identificação — Sede",
                      "Identification Services Bureau — Headquarters"),
        collection_address="Avenida da Praia Grande, n.º 804, Edifício China Plaza, Macau",
        application_number="",
        name_zh="",
        name_latin="",
        id_number="",
        case="renewal",
        service_level="normal",
        lines=(),
        total_avos=0,
        tenders=(),
        change_avos=0,
        clerk="Ana Chan 陳安娜",
        counter=3,
        issued_local=datetime(2026, 11, 23, 9, 0),
        promised_on=date(2026, 12, 14),
    )  # fmt: skip
    for n in range(1, count + 1):
        fees = [FEES[0], *rng.sample(FEES[1:], rng.randint(0, 2))]
        lines = tuple(ReceiptLine(labels, amount) for labels, amount in fees)
        total = sum(line.amount_avos for line in lines)
        if rng.random() < 0.5:
            tenders = (ReceiptTender(("現金", "Numerário", "Cash"), total, total + 1000),)
            change = 1000
        else:
            tenders = (
                ReceiptTender(("澳門通", "Macau Pass", "Macau Pass"), total, None, f"MP{n}"),
            )
            change = 0
        yield (
            dataclasses.replace(
                base,
                number=make_receipt_number("01", day, n),
                application_number=f"01261123{n:04d}",
                name_zh=rng.choice(SURNAMES) + rng.choice(GIVEN),
                name_latin=rng.choice(LATIN),
                id_number=f"{rng.randint(1000000, 7999999)}({rng.randint(0, 9)})",
                lines=lines,
                total_avos=total,
                tenders=tenders,
                change_avos=change,
                issued_local=base.issued_local + timedelta(minutes=2 * n),
            ),
            rng.random() < 0.1,
        )


def decode(pdf: bytes) -> str:
    import pypdfium2 as pdfium
    import zxingcpp

    image = pdfium.PdfDocument(pdf)[0].render(scale=300 / 72, grayscale=True).to_pil()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)
    return found[0].text if found else ""


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(
            next(
                x for x in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in x
            ).split()[1]
        )
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    import reportlab

    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} × {cpu}, "
        f"{mem_kb / 1024 / 1024:.0f} GiB RAM, Python {platform.python_version()}, "
        f"reportlab {reportlab.Version} (pure-Python paths: no `rl_accel`); "
        f"1-minute load average at the start {load:.1f}"
    )


def run(count: int) -> str:
    from clerk.documents.receipt import render_receipt

    data = list(receipts(count))
    for item, copy in data[:5]:  # the font's registration, once per process
        render_receipt(item, copy=copy)
    walls, cpus, pdfs = [], [], []
    for item, copy in data:
        wall, cpu = time.perf_counter(), time.process_time()
        pdfs.append(render_receipt(item, copy=copy))
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    for (item, _copy), pdf in list(zip(data, pdfs, strict=True))[::10]:
        if decode(pdf) != item.number:
            raise SystemExit(f"receipt {item.number}: the barcode does not decode")

    def row(name: str, values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        med = statistics.median(ms)
        verdict = "yes" if med <= TARGET_MS else "no"
        return (
            f"| {name} | {len(ms)} | {med:.1f} | {p95:.1f} | {ms[0]:.1f} | {ms[-1]:.1f} "
            f"| {verdict} |"
        )

    size = statistics.median(len(p) for p in pdfs) / 1024
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return "\n".join(
        [
            SECTION,
            "",
            f"Time to render one A5 receipt PDF. Target: median ≤ {TARGET_MS:.0f} ms.",
            "",
            "**Method.** `.venv/bin/python bench/receipts.py` renders "
            f"{count} different receipts (random names, fee lines, tenders; one in ten a COPY) "
            "with `clerk.documents.receipt.render_receipt` after 5 untimed ones (the font's "
            "registration), and times each call: wall time (`time.perf_counter`) and the "
            "process's CPU time (`time.process_time`). Every 10th PDF is rasterised at 300 dpi "
            "and its barcode decoded back (untimed). No test asserts a time.",
            "",
            f"**Machine.** {machine()}. Commit {commit or '?'} plus the working tree.",
            "",
            "| what | receipts | median ms | p95 ms | min ms | max ms | ≤ target |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            row("wall time", walls),
            row("CPU time of the process", cpus),
            "",
            f"Median PDF size {size:.0f} KiB (the CJK font subset is most of it).",
            "",
            READING,
            "",
        ]
    )


def write(section: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    section = run(args.count)
    print(section)
    if args.write:
        write(section)


if __name__ == "__main__":
    main()
