"""Matplotlib figures for pages: a headless figure in, PNG bytes out."""

import io
from typing import Any


def new_figure(width: float, height: float, rows: int = 0, columns: int = 0) -> Any:
    """A headless (Agg) figure and its axes; with `rows` and `columns`, a 2-D array of axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if rows and columns:
        return plt.subplots(rows, columns, figsize=(width, height), squeeze=False)
    return plt.subplots(figsize=(width, height))


def to_png(fig: Any) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
