"""Write the evaluation: DVC metrics, DVC plot data, a terminal table and an HTML report."""

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import Task
from pipelines.evaluate import profiles
from pipelines.evaluate.compare import CellResult
from pipelines.metrics import PRIMARY_METRIC
from pipelines.pages.render import png_uri, render
from pipelines.pages.text import fmt


def metrics_json(summary: dict[str, Any], results: Sequence[CellResult]) -> dict[str, Any]:
    """DVC metrics: a summary plus a few numbers per cell (shown by dvc metrics/exp show)."""
    cells = {}
    for r in results:
        entry: dict[str, Any] = {"passed": r.passed, "size_kb": round(r.size_bytes / 1024, 1)}
        if "p50_ms" in r.latency:
            entry |= {
                "p50_ms": round(r.latency["p50_ms"], 4),
                "p99_ms": round(r.latency["p99_ms"], 4),
            }
        if r.errors is not None:
            entry["max_abs"] = r.errors["max_abs"]
        entry |= {f"max_abs_{name}": e["max_abs"] for name, e in r.output_errors.items()}
        entry |= {k: round(v, 4) for k, v in r.quality.items()}
        cells[r.key] = entry
    return {**summary, "cells": cells}


PLOT_FIELDS = [
    "cell",
    "artifact",
    "language",
    "passed",
    "p50_ms",
    "p90_ms",
    "max_abs_error",
    "metric",
    "size_kb",
]


def plot_rows(task_metric: str | None, results: Sequence[CellResult]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        if "p50_ms" not in r.latency:
            continue
        rows.append(
            {
                "cell": r.key,
                "artifact": r.artifact,
                "language": r.language,
                "passed": r.passed,
                "p50_ms": r.latency["p50_ms"],
                "p90_ms": r.latency["p90_ms"],
                "max_abs_error": r.errors["max_abs"] if r.errors else "",
                "metric": r.quality.get(task_metric, "") if task_metric else "",
                "size_kb": round(r.size_bytes / 1024, 1),
            }
        )
    return rows


def write_plot_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=PLOT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def terminal_table(results: Sequence[CellResult], task: Task) -> str:
    """A compact fixed-width table for the end of the stage log."""
    metric = PRIMARY_METRIC.get(task)
    header = [
        "cell",
        "size kB",
        "max abs",
        metric or "metric",
        "p50 ms",
        "p99 ms",
        "RSS MB",
        "verdict",
    ]
    rows = [header]
    for r in results:
        rows.append(
            [
                r.key,
                fmt(r.size_bytes / 1024, 1),
                fmt(r.errors["max_abs"] if r.errors else None),
                fmt(r.quality.get(metric) if metric else None, 2),
                fmt(r.latency.get("p50_ms")),
                fmt(r.latency.get("p99_ms")),
                fmt(r.latency.get("peak_rss_mb"), 0),
                ("PASS " if r.passed else "FAIL " if r.passed is False else "") + r.verdict,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class CellRow:
    """One row of the page's main table: a cell and its numbers, ready to print."""

    key: str
    values: list[str]
    verdict: str
    css: str
    detail: str


@dataclass(frozen=True)
class LayerRow:
    """One layer of the quantization debugger's worst-layers table, ready to print."""

    name: str
    op: str
    rmse_over_scale: str
    max_abs_error: str
    scale: str


def _numeric_columns(quality_keys: list[str], outputs: list[str], task: Task) -> list[str]:
    """The headings between `cell` and `verdict`, in the order of CellRow.values."""
    metric = PRIMARY_METRIC.get(task)
    return [
        "size kB",
        "max abs",
        "mean abs",
        "min rtol",
        *(f"max abs {name}" for name in outputs),
        *quality_keys,
        f"{metric} drop" if metric else "drop",
        "load ms",
        "first ms",
        "p50 ms",
        "p50 spread %",
        "p90 ms",
        "p99 ms",
        "RSS MB",
    ]


def _cell_row(r: CellResult, quality_keys: list[str], outputs: list[str]) -> CellRow:
    errors = r.errors or {}
    status = "pass" if r.passed else "fail" if r.passed is False else ""
    values = [
        fmt(r.size_bytes / 1024, 1),
        *(fmt(errors.get(k)) for k in ("max_abs", "mean_abs", "min_rtol")),
        *(fmt(r.output_errors.get(name, {}).get("max_abs")) for name in outputs),
        *(fmt(r.quality.get(k)) for k in quality_keys),
        fmt(r.metric_drop),
        *(fmt(r.latency.get(k)) for k in ("load_ms", "first_run_ms", "p50_ms")),
        fmt(r.latency.get("p50_spread_pct"), 0),
        *(fmt(r.latency.get(k)) for k in ("p90_ms", "p99_ms")),
        fmt(r.latency.get("peak_rss_mb"), 0),
    ]
    return CellRow(
        key=r.key,
        values=values,
        verdict=r.verdict,
        css=" ".join(c for c in ("ref" if r.reference else "", status) if c),
        detail=(r.stderr_tail or r.failure) if r.failure else "",
    )


def _layer_row(layer: dict[str, Any]) -> LayerRow:
    return LayerRow(
        name=str(layer["layer"]),
        op=str(layer["op"]),
        rmse_over_scale=fmt(layer["rmse_over_scale"]),
        max_abs_error=fmt(layer["max_abs_error"]),
        scale=fmt(layer["scale"]),
    )


def html_report(
    title: str,
    summary: dict[str, Any],
    results: Sequence[CellResult],
    task: Task,
    figures: dict[str, bytes],
    layers: dict[str, list[dict[str, Any]]],
    notes: list[str],
) -> str:
    """One self-contained page: summary table, plots, pictures, per-op profiles and
    quantization diagnostics."""
    quality_keys = sorted({k for r in results for k in r.quality})
    # a model with several outputs: each output's error beside the overall one
    outputs = next((list(r.output_errors) for r in results if r.output_errors), [])
    profiled = {r.key: r.profile for r in results if r.profile}
    return render(
        "evaluation.html",
        title=title,
        subtitle=" · ".join(f"{k}: {v}" for k, v in summary.items() if not isinstance(v, dict)),
        columns=_numeric_columns(quality_keys, outputs, task),
        rows=[_cell_row(r, quality_keys, outputs) for r in results],
        notes=notes,
        figures=[(name, png_uri(png)) for name, png in figures.items()],
        worst_layers={mode: [_layer_row(row) for row in rows] for mode, rows in layers.items()},
        profiles=profiles.tables(profiled),
        profile_notes=profiles.quantized_notes(profiled),
    )


def write_json(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content, indent=2, default=str) + "\n")
