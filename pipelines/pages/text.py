"""Text shared by pages, logs and results: numbers at a readable precision, output tails."""

from typing import Any


def fmt(value: Any, digits: int = 3) -> str:
    """A number as a short string (`-` for None; scientific notation when tiny or huge)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def last_lines(text: str | bytes | None, lines: int = 6) -> str:
    """The last `lines` non-blank lines of a process's output."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    kept = [line for line in (text or "").splitlines() if line.strip()]
    return "\n".join(kept[-lines:])
