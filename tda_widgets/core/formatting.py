"""One byte formatter for every message and table of the package (budgets, capture, clouds)."""

from __future__ import annotations

__all__ = ["format_bytes"]


def format_bytes(n: float) -> str:
    """Bytes in binary units: whole bytes below 1 KiB, else one decimal.

    Examples
    --------
    >>> format_bytes(3 * 1024**2), format_bytes(512), format_bytes(1536)
    ('3.0 MiB', '512 B', '1.5 KiB')
    """
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
