"""Pictures for the report, rendered with matplotlib to PNG bytes."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipelines.evaluate.compare import CellResult
from pipelines.pages.plots import new_figure, to_png


def _color(result: CellResult) -> str:
    return {True: "#2e7d32", False: "#c62828", None: "#757575"}[result.passed]


def _max_abs(result: CellResult) -> float:
    return result.errors["max_abs"] if result.errors else float("nan")


def latency_bars(results: Sequence[CellResult]) -> bytes:
    """p50 latency per cell with a p90 whisker, coloured by verdict."""
    ran = [r for r in results if "p50_ms" in r.latency]
    fig, ax = new_figure(7, 0.32 * len(ran) + 1.2)
    y = np.arange(len(ran))
    p50 = [r.latency["p50_ms"] for r in ran]
    p90 = [r.latency["p90_ms"] for r in ran]
    ax.barh(y, p50, color=[_color(r) for r in ran])
    ax.errorbar(
        p50,
        y,
        xerr=[np.zeros(len(ran)), np.subtract(p90, p50)],
        fmt="none",
        ecolor="black",
        capsize=2,
    )
    ax.set_yticks(y, [r.key for r in ran], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("latency per inference, ms (bar p50, whisker p90)")
    return to_png(fig)


def error_bars(results: Sequence[CellResult]) -> bytes:
    """Max abs error against the original model per cell (log scale)."""
    compared = [r for r in results if r.errors is not None and not r.reference]
    fig, ax = new_figure(7, 0.32 * len(compared) + 1.2)
    y = np.arange(len(compared))
    ax.barh(y, [max(_max_abs(r), 1e-9) for r in compared], color=[_color(r) for r in compared])
    ax.set_xscale("log")
    ax.set_yticks(y, [r.key for r in compared], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("max abs error vs original model (floor 1e-9)")
    return to_png(fig)


def latency_vs_error(results: Sequence[CellResult]) -> bytes:
    """p50 against max abs error: one colour per artifact, circle = C++, square = Python."""
    import matplotlib.pyplot as plt

    compared = [
        r for r in results if r.errors is not None and "p50_ms" in r.latency and not r.reference
    ]
    fig, ax = new_figure(8, 4.8)
    artifacts = sorted({r.artifact for r in compared})
    colours = plt.get_cmap("tab20")
    for r in compared:
        ax.scatter(
            r.latency["p50_ms"],
            max(_max_abs(r), 1e-9),
            s=36,
            color=colours(artifacts.index(r.artifact) % 20),
            marker="o" if r.language == "cpp" else "s",
        )
    for index, name in enumerate(artifacts):
        ax.scatter([], [], color=colours(index % 20), marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("p50 latency, ms (circle: C++, square: Python)")
    ax.set_ylabel("max abs error vs original (floor 1e-9)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return to_png(fig)


def _panel_rows(panels: list[tuple[str, np.ndarray, dict]], columns: int) -> bytes:
    """Images in rows of `columns`, each with its title and imshow options."""
    rows = -(-len(panels) // columns)
    fig, axes = new_figure(2.3 * columns, 2.5 * rows, rows, columns)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, image, options) in zip(axes.flat, panels, strict=False):
        ax.imshow(image, **options)
        ax.set_title(title, fontsize=8)
    return to_png(fig)


def image_grid(
    low: np.ndarray,
    target: np.ndarray | None,
    outputs: dict[str, np.ndarray],
    originals: dict[str, np.ndarray],
    columns: int = 6,
) -> bytes:
    """One evaluation image: the input, the ground truth and every artifact's output, then each
    artifact's |output - original| (its own framework's original model) on one shared colour
    scale (brighter = further off)."""
    rgb: dict[str, Any] = {"interpolation": "nearest"}
    panels = [("input (low resolution)", np.clip(low, 0, 1), rgb)]
    if target is not None:
        panels.append(("ground truth", np.clip(target, 0, 1), rgb))
    panels += [(name, np.clip(image, 0, 1), rgb) for name, image in outputs.items()]
    diffs = {name: np.abs(image - originals[name]).mean(axis=-1) for name, image in outputs.items()}
    top = max([float(d.max()) for d in diffs.values()] + [1e-9])
    heat: dict[str, Any] = {"cmap": "inferno", "vmin": 0.0, "vmax": top}
    rows = -(-len(panels) // columns) * columns
    panels += [("", np.ones((1, 1, 3)), rgb)] * (rows - len(panels))  # heatmaps start a new row
    panels += [
        (f"{name} - original\nmax |diff| {float(d.max()):.1e}", d, heat)
        for name, d in diffs.items()
    ]
    return _panel_rows(panels, columns)


def disagreements(
    images: np.ndarray,
    original: dict[str, np.ndarray],
    predicted: dict[str, np.ndarray],
    labels: np.ndarray | None,
    limit: int = 12,
) -> bytes:
    """Digits where an artifact's class differs from its original model's, with both labels."""
    cases = [
        (name, i)
        for name, pred in predicted.items()
        for i in np.flatnonzero(pred != original[name])
    ][:limit]
    columns = max(len(cases), 1)
    fig, axes = new_figure(1.4 * columns, 1.9, 1, columns)
    for ax, (name, i) in zip(axes[0], cases, strict=False):
        ax.imshow(images[i, ..., 0], cmap="gray_r")
        truth = f" true {labels[i]}" if labels is not None else ""
        ax.set_title(f"{name}\norig {original[name][i]} -> {predicted[name][i]}{truth}", fontsize=6)
    for ax in axes.flat:
        ax.axis("off")
    if not cases:
        axes[0, 0].text(0.5, 0.5, "no disagreements", ha="center", va="center")
    return to_png(fig)


def confusion(labels: np.ndarray, predicted: np.ndarray, title: str) -> bytes:
    classes = int(max(labels.max(), predicted.max())) + 1
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    fig, ax = new_figure(4, 3.6)
    ax.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if count > matrix.max() / 2 else "black",
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return to_png(fig)


def selective_tradeoff(record: dict[str, Any]) -> bytes:
    """int8_selective's search: layers kept in float against the accuracy measure (metric drop,
    or SNR without a task metric) and the model size, each step a point, the chosen one ringed."""
    steps = sorted(record["steps"], key=lambda s: len(s["float_layers"]))
    by_drop = steps[0]["metric_drop"] is not None
    fig, ax = new_figure(6, 3.4)
    kept = [len(s["float_layers"]) for s in steps]
    value = [s["metric_drop"] if by_drop else s["snr_db"] for s in steps]
    ax.plot(kept, value, color="#546e7a", zorder=1)
    ax.scatter(kept, value, c=["#2e7d32" if s["passed"] else "#c62828" for s in steps], zorder=2)
    chosen = record["steps"][-1]
    ax.scatter(
        [len(chosen["float_layers"])],
        [chosen["metric_drop"] if by_drop else chosen["snr_db"]],
        s=220,
        facecolors="none",
        edgecolors="black",
        zorder=3,
    )
    for x, y, step in zip(kept, value, steps, strict=True):
        ax.annotate(
            f"{step['size_bytes'] / 1024:.0f} kB",
            (x, y),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.set_xlabel(f"layers kept in float (of {record['quantized_layers']})")
    ax.set_ylabel("task metric drop" if by_drop else "SNR vs original, dB")
    ax.set_title(f"target: {record['target']}", fontsize=8)
    return to_png(fig)
