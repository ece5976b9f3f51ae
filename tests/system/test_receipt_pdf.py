"""Receipts and Z reports as PDFs: the barcode decodes back to the number at 300 dpi, the text
extracts (Chinese, Portuguese, English), and a real CUPS with the cups-pdf printer prints one.

Needs the CJK font (fonts-arphic-uming) and, for the printing test, cups and
printer-driver-cups-pdf: the private cupsd of `tests/system/test_printer_cups.py` (its own
folder and socket, no TCP port) is started for the test and stopped after it.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from clerk.documents.fonts import CJK_FONT_PATH
from clerk.documents.receipt import (
    ReceiptData,
    ReceiptLine,
    ReceiptTender,
    content_bottom,
    mask_id_number,
    receipt_warnings,
    render_receipt,
)
from clerk.domain.receipts import make_receipt_number
from tests.conftest import make_ctx, missing_component
from tests.system import test_printer_cups

pytestmark = pytest.mark.system

FROZEN = datetime(2026, 11, 23, 3, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _font():
    if not CJK_FONT_PATH.is_file():
        missing_component("the CJK font (Debian package fonts-arphic-uming)")


def sample(**changes) -> ReceiptData:
    data = ReceiptData(
        number=make_receipt_number("01", date(2026, 11, 23), 17),
        status="valid",
        office_names=("身份證明局總部", "Direcção dos Serviços de Identificação — Sede",
                      "Identification Services Bureau — Headquarters"),
        collection_address="Avenida da Praia Grande, n.º 804, Edifício China Plaza, Macau",
        application_number="012611230017",
        name_zh="陳大文",
        name_latin="CHAN TAI MAN",
        id_number="1234567(3)",
        case="loss",
        service_level="express",
        lines=(
            ReceiptLine(("身份證申請費", "Taxa do pedido de BIR", "Application fee"), 9000),
            ReceiptLine(("快速服務", "Serviço rápido", "Express service"), 15000),
            ReceiptLine(("未能提交原身份證附加費（第2次）", "Sobretaxa (2.ª vez)",
                         "Surcharge: original BIR not presented (2nd time)"), 30000),
        ),
        total_avos=54000,
        tenders=(
            ReceiptTender(("現金", "Numerário", "Cash"), 40000, 50000),
            ReceiptTender(("澳門通", "Macau Pass", "Macau Pass"), 14000, None, "MP-889123"),
        ),
        change_avos=10000,
        clerk="Ana Chan 陳安娜",
        counter=3,
        issued_local=datetime(2026, 11, 23, 11, 15),
        promised_on=date(2026, 12, 7),
    )  # fmt: skip
    return dataclasses.replace(data, **changes)


def pages(pdf: bytes):
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(pdf)


def barcodes(pdf: bytes) -> set[str]:
    """Code128 barcodes on the first page rendered at 300 dpi (a second binarizer if needed)."""
    import zxingcpp

    image = pages(pdf)[0].render(scale=300 / 72, grayscale=True).to_pil()
    found: set[str] = set()
    for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.FixedThreshold):
        found |= {
            r.text
            for r in zxingcpp.read_barcodes(
                image, formats=zxingcpp.BarcodeFormat.Code128, binarizer=binarizer
            )
        }
        if found:
            break
    return found


def text_of(pdf: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in pages(pdf))


def test_the_barcode_decodes_to_the_receipt_number():
    for sequence in (1, 17, 980, 9999):
        data = sample(number=make_receipt_number("07", date(2027, 2, 9), sequence))
        assert barcodes(render_receipt(data)) == {data.number}


def test_trilingual_headings_names_and_amounts_extract():
    data = sample()
    text = text_of(render_receipt(data))
    for expected in (
        "收據", "Recibo", "Receipt",  # the headings
        "陳大文", "CHAN TAI MAN", "1234***(3)",  # names, the ID number masked
        "MOP 90.00", "MOP 150.00", "MOP 300.00", "MOP 540.00",  # each line and the total
        "MOP 400.00", "MOP 140.00", "MOP 500.00", "MOP 100.00", "MP-889123",  # tenders, change
        "2026-12-07", "China Plaza",  # when and where to collect
        "受託人姓名", "Representative's name", "Applicant's signature",  # the authorisation
        "Ana Chan", "2026-11-23 11:15", data.number,
    ):  # fmt: skip
        assert expected in text, expected
    assert "1234567" not in text  # the full ID number is not printed
    assert "副本" not in text and "COPY" not in text


def test_a_reprint_says_copy_and_a_void_says_so():
    text = text_of(render_receipt(sample(), copy=True))
    assert "副本" in text and "2.ª VIA" in text and "COPY" in text
    text = text_of(render_receipt(sample(status="void")))
    assert "作廢" in text and "ANULADO" in text and "VOID" in text


def test_a_missing_glyph_warns_and_prints_the_latin_name():
    data = sample(name_zh="陳𠀋文")  # U+2000B is not in AR PL UMing
    warnings = receipt_warnings(data)
    assert len(warnings) == 1 and "𠀋" in warnings[0]
    text = text_of(render_receipt(data))
    assert "陳〓文" in text and "CHAN TAI MAN" in text and "Latin name prevails" in text
    assert receipt_warnings(sample()) == []


def test_the_fullest_receipt_still_fits_above_the_authorisation():
    lines = sample().lines + (
        ReceiptLine(("外展服務", "Serviço externo", "External service"), 12000),
        ReceiptLine(("費用豁免（經濟困難）", "Isenção de taxas (carência económica)",
                     "Fee exemption (poverty)"), -39000, True),
    )  # fmt: skip
    data = sample(lines=lines, name_zh="陳𠀋文", name_latin="FERREIRA DA SILVA, MARIA JOSÉ")
    bottom, box_top = content_bottom(data, copy=True)
    assert bottom >= box_top
    assert barcodes(render_receipt(data, copy=True)) == {data.number}


def test_ids_are_masked():
    assert mask_id_number("1234567(3)") == "1234***(3)"
    assert mask_id_number("5213377(0)") == "5213***(0)"
    assert "1234567" not in mask_id_number("12345678")


def test_fast_subsetting_embeds_the_same_font_bytes():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFontFile

    from clerk.documents.fonts import CJK_SUBFONT, register_cjk_font

    render_receipt(sample())  # installs the view on the registered face
    face = pdfmetrics.getFont(register_cjk_font()).face
    plain = TTFontFile(str(CJK_FONT_PATH), subfontIndex=CJK_SUBFONT)
    codes = [ord(c) for c in "收據陳大文身份證申請費快速服務附加費（第2次）澳門通"]
    assert face.makeSubset(codes) == plain.makeSubset(codes)


# --- through the services and the command line --------------------------------------------------


@pytest.fixture
def demo(sqlite_url):
    from clerk.domain.clock import set_clock
    from clerk.domain.demo import seed_demo
    from clerk.domain.demo_payments import seed_payments

    set_clock(lambda: FROZEN)
    ctx = make_ctx(sqlite_url)
    seed_demo(ctx)
    seed_payments(ctx)
    yield ctx
    ctx.close()
    set_clock(None)


def test_cli_renders_a_stored_receipt(demo, tmp_path, capsys):
    from clerk.cli import main
    from clerk.domain import cashier
    from clerk.domain.auth import SYSTEM

    number = cashier.list_receipts(demo, SYSTEM)[0].number
    out = tmp_path / "r.pdf"
    assert main(["--db", demo.db.url, "receipt", "render", number, "--out", str(out)]) == 0
    pdf = out.read_bytes()
    assert barcodes(pdf) == {number}
    text = text_of(pdf)
    assert "黃志強" in text and "WONG CHI KEONG" in text and "MOP 90.00" in text
    assert main(["--db", demo.db.url, "receipt", "check", number]) == 0
    assert main(["--db", demo.db.url, "receipt", "check", number[:-1] + "0"]) == 2


def test_z_report_of_a_closed_drawer(demo, tmp_path):
    from clerk.cli import main

    out = tmp_path / "z.pdf"
    assert main(["--db", demo.db.url, "drawer", "report", "1", "--out", str(out)]) == 0
    text = text_of(out.read_bytes())
    for expected in ("Z report", "Relatório Z", "點算", "MOP 1,000.00", "Variance", "MOP 0.00"):
        assert expected in text, expected
    assert main(["--db", demo.db.url, "drawer", "report", "999", "--out", str(out)]) == 2


# --- a real CUPS with the cups-pdf printer ------------------------------------------------------

# the queue helper's private cupsd (its own folder and socket) with a cups-pdf queue
cups = test_printer_cups.cups


def _complete(pdf: bytes) -> bool:
    return pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")


def test_cups_prints_a_receipt_and_the_pdf_appears(demo, cups):
    from clerk.domain import cashier
    from clerk.domain.auth import SYSTEM

    demo.config.printer.kind, demo.config.printer.name = "cups", test_printer_cups.QUEUE
    number = cashier.list_receipts(demo, SYSTEM)[0].number
    out_dir = test_printer_cups._cups_pdf_output_dir()
    printed = cashier.print_receipt(demo, SYSTEM, number)
    assert printed.where.startswith(f"{test_printer_cups.QUEUE}-") and not printed.copy
    job = printed.where.rsplit("-", 1)[1]
    deadline = time.monotonic() + 30
    found: list[Path] = []
    output = b""
    while not _complete(output) and time.monotonic() < deadline:
        time.sleep(0.2)
        found = [p for p in out_dir.glob(f"*job_{job}.pdf")]
        output = found[0].read_bytes() if found else b""
    try:
        assert _complete(output), f"cups-pdf wrote no complete PDF into {out_dir} within 30 s"
        # cups-pdf re-renders through Ghostscript: the Chinese text is not extractable any
        # more, the barcode still decodes
        assert barcodes(output) == {number}
    finally:
        for path in found:
            path.unlink(missing_ok=True)
    assert cashier.list_receipts(demo, SYSTEM)[0].printed_count == 1
