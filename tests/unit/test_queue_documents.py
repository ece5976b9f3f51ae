"""The tag slip (PDF, CJK text, a Code128 that decodes), the printer layer and the announcer."""

from __future__ import annotations

import os
import stat
import time
from datetime import datetime
from pathlib import Path

import pytest

from clerk.config import PrinterConfig
from clerk.devices.printer import print_pdf
from clerk.devices.speech import Announcer, call_text
from clerk.documents.barcode import bar_runs, code128_modules
from clerk.documents.fonts import missing_glyphs
from clerk.documents.tag_slip import SlipData, render_tag_slip
from clerk.errors import Failure, UsageError

SLIP = SlipData(
    tag="P017",
    service_code="P",
    service_names=("優先（長者、殘疾人士、孕婦）", "Prioritário", "Priority"),
    office_names=("身份證明局總部", "Direcção dos Serviços de Identificação", "Identification"),
    issued_local=datetime(2026, 11, 23, 10, 5),
    ahead=8,
    wait_minutes=12,
    booking_code="K7Q2M9XA",
    slot="10:00–10:30",
)


def decode_barcodes(pdf: bytes, dpi: int = 300) -> list[str]:
    """Every barcode on every page, rendered at `dpi` (pypdfium2) and decoded (zxing-cpp)."""
    import pypdfium2 as pdfium
    import zxingcpp

    found: list[str] = []
    doc = pdfium.PdfDocument(pdf)
    for page in doc:
        image = page.render(scale=dpi / 72).to_pil().convert("L")
        results = zxingcpp.read_barcodes(image) or zxingcpp.read_barcodes(
            image, binarizer=zxingcpp.Binarizer.FixedThreshold
        )
        found += [r.text for r in results if r.text not in found]
    return found


def pdf_text(pdf: bytes) -> str:
    import pypdfium2 as pdfium

    pages = pdfium.PdfDocument(pdf)
    return "\n".join(p.get_textpage().get_text_range().replace("\r\n", "\n") for p in pages)


def test_the_slip_barcode_decodes_and_the_text_is_trilingual():
    pdf = render_tag_slip(SLIP)
    assert pdf.startswith(b"%PDF")
    assert decode_barcodes(pdf) == ["P017"]
    text = pdf_text(pdf)
    for needle in ("輪候籌號", "Senha", "Ticket", "P017", "優先", "前面輪候人數", "8", "12 min",
                   "K7Q2M9XA", "2026-11-23 10:05", "請留意叫號屏幕"):  # fmt: skip
        assert needle in text, needle


def test_an_unknown_wait_prints_a_dash():
    text = pdf_text(render_tag_slip(SlipData(**{**SLIP.__dict__, "wait_minutes": None})))
    assert "Estimated wait\n—\n" in text and "分鐘" not in text


def test_code128_bars():
    modules = code128_modules("A017")
    assert modules.startswith("11010010000") and modules.endswith("1100011101011")  # start B, stop
    runs = bar_runs(modules)
    assert sum(width for _, width in runs) == modules.count("1")
    assert runs[0] == (0, 2)
    for bad in ("", "A017\n", "編號"):
        with pytest.raises(UsageError):
            code128_modules(bad)


def test_missing_glyphs_are_found_before_printing():
    assert missing_glyphs("陳大文 João") == set()
    assert missing_glyphs("A\U0001f600") == {"\U0001f600"}


# --- printer ------------------------------------------------------------------------------------


def test_folder_printer_writes_the_pdf(tmp_path):
    pdf = render_tag_slip(SLIP)
    done = print_pdf(pdf, PrinterConfig(kind="folder", folder=str(tmp_path)), title="P017 slip")
    assert done.kind == "folder" and done.where.endswith("-P017_slip.pdf")
    assert Path(done.where).read_bytes() == pdf
    twice = print_pdf(pdf, PrinterConfig(kind="folder", folder=str(tmp_path / "b")), copies=2)
    assert len(list((tmp_path / "b").glob("*.pdf"))) == 2 and twice.where.endswith("-1.pdf")


def test_folder_printer_failures_are_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    config = PrinterConfig(kind="folder", folder=str(locked / "sub"))
    if os.geteuid() != 0:  # root writes anywhere
        with pytest.raises(Failure, match="cannot write the PDF into"):
            print_pdf(b"%PDF-1.4 x", config)
    with pytest.raises(UsageError, match="not a PDF"):
        print_pdf(b"hello", config)
    with pytest.raises(UsageError, match="copies"):
        print_pdf(b"%PDF-1.4 x", config, copies=0)


@pytest.fixture
def fake_lp(tmp_path, monkeypatch):
    """An `lp` on PATH that records its arguments; it fails for the queue named 'broken'."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "lp.log"
    script = bin_dir / "lp"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {log}\n'
        f"/bin/cat > {tmp_path / 'lp.pdf'}\n"
        'case "$*" in *"-d broken"*) echo "lp: The printer or class does not exist." >&2; '
        "exit 1;; esac\n"
        'echo "request id is $2-7 (1 file(s))"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return log


def test_cups_printing_through_lp(fake_lp, tmp_path):
    done = print_pdf(b"%PDF-1.4 x", PrinterConfig(kind="cups", name="desk", media="A5"), title="A1")
    assert (done.kind, done.where) == ("cups", "desk-7")
    assert fake_lp.read_text().split() == ["-d", "desk", "-n", "1", "-t", "A1", "-o", "media=A5"]
    assert (tmp_path / "lp.pdf").read_bytes() == b"%PDF-1.4 x"
    with pytest.raises(Failure) as err:
        print_pdf(b"%PDF-1.4 x", PrinterConfig(kind="cups", name="broken"))
    assert err.value.message == "printer broken: The printer or class does not exist."


def test_cups_without_a_queue_name_or_lp(monkeypatch, tmp_path):
    with pytest.raises(Failure, match="printer.name is not set"):
        print_pdf(b"%PDF-1.4 x", PrinterConfig(kind="cups", name=""))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Failure, match="lp is not installed"):
        print_pdf(b"%PDF-1.4 x", PrinterConfig(kind="cups", name="desk"))


# --- announcer ----------------------------------------------------------------------------------


def test_calls_are_spoken_in_order(tmp_path):
    said = tmp_path / "said.txt"
    speaker = tmp_path / "speak"
    speaker.write_text(f'#!/bin/sh\necho "$1 $2 $4" >> {said}\n')
    speaker.chmod(0o755)
    announcer = Announcer(voice="en", program=str(speaker))
    assert call_text("A017", 3) == "A 0 1 7, counter 3"
    assert announcer.say(call_text("A017", 3)) and announcer.say(call_text("P002", 1))
    announcer.close()
    for _ in range(50):
        if said.exists() and len(said.read_text().splitlines()) == 2:
            break
        time.sleep(0.05)
    assert said.read_text().splitlines() == ["-v en A 0 1 7, counter 3", "-v en P 0 0 2, counter 1"]


def test_no_speaker_no_sound(tmp_path):
    quiet = Announcer(program=None)
    quiet.program = None
    assert quiet.available is False and quiet.say("A001, counter 1") is False
