"""A tag slip through a real CUPS: a private cupsd started here (its own folder and socket), a
cups-pdf queue, `lp` through the printer layer; the PDF comes out and its barcode decodes."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest

from clerk.config import PrinterConfig
from clerk.domain import queue
from clerk.domain.auth import SYSTEM
from clerk.domain.clock import set_clock
from clerk.errors import Failure
from tests.conftest import missing_component
from tests.unit.test_queue import MACAU, Clock, make_office
from tests.unit.test_queue_documents import decode_barcodes

pytestmark = pytest.mark.system

CUPS_PDF = Path("/usr/lib/cups/backend/cups-pdf")
PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
QUEUE = "ClerkSlips"


def _cups_pdf_output_dir() -> Path:
    """Where cups-pdf writes the jobs of this user (`Out` in /etc/cups/cups-pdf.conf)."""
    out = "${HOME}/PDF"
    conf = Path("/etc/cups/cups-pdf.conf")
    if conf.exists():
        for line in conf.read_text(errors="replace").splitlines():
            if line.strip().startswith("Out "):
                out = line.split(None, 1)[1].strip()
    home = pwd.getpwuid(os.geteuid()).pw_dir
    return Path(out.replace("${HOME}", home).replace("$HOME", home))


@pytest.fixture(scope="module")
def cups():
    """A private cupsd (foreground, in the background of the test) with a cups-pdf queue."""
    cupsd, lpadmin = shutil.which("cupsd", path="/usr/sbin:/usr/bin"), shutil.which("lpadmin")
    if not (cupsd and lpadmin and shutil.which("lp")):
        missing_component("CUPS (Debian packages cups, cups-client)")
    if not (CUPS_PDF.exists() and PPD.exists()):
        missing_component("cups-pdf (Debian package printer-driver-cups-pdf)")
    if os.geteuid() != 0:
        missing_component("root (cupsd runs the cups-pdf backend as root)")
    # not under pytest's tmp_path (mode 0700): the filters run as the lp user and must get in
    root = Path(tempfile.mkdtemp(prefix="clerk-cups-"))
    root.chmod(0o755)
    for sub in ("spool", "cache", "state", "log", "ppd"):
        (root / sub).mkdir(parents=True)
    (root / "tmp").mkdir(mode=0o1777)
    (root / "tmp").chmod(0o1777)  # the filters run as lp
    socket = root / "cups.sock"
    (root / "cups-files.conf").write_text(
        f"ServerRoot {root}\nRequestRoot {root / 'spool'}\nTempDir {root / 'tmp'}\n"
        f"CacheDir {root / 'cache'}\nStateDir {root / 'state'}\n"
        f"AccessLog {root / 'log/access_log'}\nErrorLog {root / 'log/error_log'}\n"
        f"PageLog {root / 'log/page_log'}\n"
        f"Printcap {root / 'printcap'}\nServerBin /usr/lib/cups\nDataDir /usr/share/cups\n"
        "SystemGroup root\nFileDevice No\n"
    )
    (root / "cupsd.conf").write_text(
        f"Listen {socket}\nLogLevel info\nBrowsing No\nWebInterface No\n"
        "DefaultAuthType None\n<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
        "<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
    )
    saved = os.environ.get("CUPS_SERVER")
    daemon = subprocess.Popen(
        [cupsd, "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if socket.exists() or daemon.poll() is not None:
                break
            time.sleep(0.1)
        assert daemon.poll() is None and socket.exists(), "cupsd did not start"
        os.environ["CUPS_SERVER"] = str(socket)
        added = subprocess.run(
            [lpadmin, "-p", QUEUE, "-v", "cups-pdf:/", "-E", "-P", str(PPD)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert added.returncode == 0, added.stderr
        yield root
    finally:
        if saved is None:
            os.environ.pop("CUPS_SERVER", None)
        else:
            os.environ["CUPS_SERVER"] = saved
        daemon.terminate()
        try:
            daemon.wait(timeout=3)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        shutil.rmtree(root, ignore_errors=True)


def test_a_tag_slip_prints_through_cups(cups, sqlite_ctx):
    set_clock(Clock(datetime(2026, 11, 23, 10, 0, tzinfo=MACAU)))
    try:
        ctx = sqlite_ctx
        make_office(ctx)
        ctx.config.printer = PrinterConfig(kind="cups", name=QUEUE, media="A5")
        queue.issue_tag(ctx, SYSTEM, "A")
        issued = queue.issue_tag(ctx, SYSTEM, "A")
        out_dir = _cups_pdf_output_dir()
        done = queue.print_slip(ctx, issued)
    finally:
        set_clock(None)
    assert done.kind == "cups" and done.where.startswith(f"{QUEUE}-")
    job = done.where.rsplit("-", 1)[1]
    output = None
    for _ in range(200):  # cups-pdf renders through Ghostscript: give it up to 20 s
        found = [p for p in out_dir.glob("*.pdf") if re.search(rf"job_{job}\.pdf$", p.name)]
        if found and found[0].stat().st_size > 0:
            time.sleep(0.2)  # let it finish writing
            output = found[0]
            break
        time.sleep(0.1)
    log = (cups / "log" / "error_log").read_text(errors="replace")
    assert output is not None, f"no PDF from cups-pdf in {out_dir}; cupsd log:\n{log[-2000:]}"
    try:
        pdf = output.read_bytes()
        assert pdf.startswith(b"%PDF")
        assert decode_barcodes(pdf) == ["A002"]
    finally:
        output.unlink()


def test_an_unknown_queue_is_one_clear_line(cups):
    with pytest.raises(Failure) as err:
        queue_config = PrinterConfig(kind="cups", name="NoSuchQueue", media="A5")
        from clerk.devices.printer import print_pdf

        print_pdf(b"%PDF-1.4\n%%EOF\n", queue_config, title="x")
    assert err.value.message.startswith("printer NoSuchQueue:")
    assert "\n" not in err.value.message
