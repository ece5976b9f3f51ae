"""Money is integer avos (1 MOP = 100 avos); this is how an amount is written at the edges."""

from __future__ import annotations


def format_avos(avos: int) -> str:
    """`9000` → `"90.00"`, `-39000` → `"-390.00"` (no thousands separator)."""
    if isinstance(avos, bool) or not isinstance(avos, int):
        raise TypeError(f"amounts are whole avos, not {avos!r}")
    sign = "-" if avos < 0 else ""
    patacas, avos_part = divmod(abs(avos), 100)
    return f"{sign}{patacas}.{avos_part:02d}"
