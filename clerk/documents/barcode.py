"""Code128 drawn as vector bars on a reportlab canvas.

The module pattern comes from python-barcode (`Code128(value).build()[0]`, a string of 1s and 0s);
each run of 1s becomes one filled rectangle, so the bars stay sharp at any printer resolution
(a raster barcode decodes badly once re-rasterised). Receipts reuse this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clerk.errors import UsageError

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

MM = 72 / 25.4  # points per millimetre
QUIET_MODULES = 10


def code128_modules(value: str) -> str:
    """The bar pattern of `value`: '1' is a dark module, '0' a light one."""
    import barcode
    from barcode.errors import BarcodeError

    if not value or not value.isascii() or not value.isprintable():
        raise UsageError(f"{value!r} cannot be a Code128 barcode (printable ASCII only)")
    try:
        return barcode.Code128(value).build()[0]
    except BarcodeError as exc:
        raise UsageError(f"{value!r} cannot be a Code128 barcode: {exc}") from None


def bar_runs(modules: str) -> list[tuple[int, int]]:
    """(first module, width in modules) of every dark bar."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, bit in enumerate(modules + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit != "1" and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


@dataclass(frozen=True)
class BarcodeBox:
    width: float  # points, quiet zones included
    height: float


def code128_width(value: str, module: float = 0.33 * MM, quiet: int = QUIET_MODULES) -> float:
    return (len(code128_modules(value)) + 2 * quiet) * module


def draw_code128(
    canvas: Canvas,
    value: str,
    x: float,
    y: float,
    *,
    module: float = 0.33 * MM,
    height: float = 12 * MM,
    quiet: int = QUIET_MODULES,
) -> BarcodeBox:
    """Draw `value` with its lower-left corner (quiet zone included) at (x, y), in points."""
    modules = code128_modules(value)
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setStrokeColorRGB(0, 0, 0)
    left = x + quiet * module
    for start, width in bar_runs(modules):
        canvas.rect(left + start * module, y, width * module, height, stroke=0, fill=1)
    canvas.restoreState()
    return BarcodeBox((len(modules) + 2 * quiet) * module, height)
