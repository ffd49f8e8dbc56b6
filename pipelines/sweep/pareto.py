"""The latency/error Pareto front of a sweep's cells: which cells are on it, and its picture."""

from pipelines.pages.plots import new_figure, to_png


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats on both coordinates (both minimised)."""
    return [
        i
        for i, (x, y) in enumerate(points)
        if not any((ox <= x and oy <= y) and (ox < x or oy < y) for ox, oy in points)
    ]


def pareto_plot(points: list[tuple[float, float]], front: list[int], labels: list[str]) -> bytes:
    """Latency against error for many cells, the Pareto-optimal ones highlighted and named."""
    fig, ax = new_figure(8, 5)
    xs, ys = zip(*points, strict=True)
    ax.scatter(xs, ys, color="#9e9e9e", s=18, label="cell")
    ordered = sorted(front, key=lambda i: points[i][0])
    ax.plot(
        [points[i][0] for i in ordered],
        [points[i][1] for i in ordered],
        color="#1565c0",
        marker="o",
        label="Pareto front",
    )
    for i in ordered:
        ax.annotate(labels[i], points[i], fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_xlabel("p50 latency, ms")
    ax.set_ylabel("max abs error vs original (floor 1e-9)")
    ax.legend()
    return to_png(fig)
