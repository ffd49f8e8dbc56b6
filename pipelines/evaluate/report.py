"""Write the evaluation: DVC metrics, DVC plot data, a terminal table and an HTML report."""

import base64
import csv
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.evaluate.compare import PRIMARY_METRIC, CellResult


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


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


def terminal_table(results: Sequence[CellResult], task) -> str:
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


STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:4px}
table{border-collapse:collapse;font-size:13px;margin:12px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}td.v{white-space:nowrap;text-align:left}
tr.pass td.v{background:#e8f5e9}tr.fail td.v{background:#ffebee}
tr.ref td{font-style:italic}img{max-width:100%;border:1px solid #eee;margin:6px 0}
.fail-detail{color:#b71c1c;font-family:monospace;font-size:12px;white-space:pre-wrap;text-align:left}
"""


def img_tag(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def html_report(
    title: str,
    summary: dict[str, Any],
    results: Sequence[CellResult],
    task,
    figures: dict[str, bytes],
    layers: dict[str, list[dict[str, Any]]],
    notes: list[str],
) -> str:
    """One self-contained page: summary table, plots, pictures, and quantization diagnostics."""
    metric = PRIMARY_METRIC.get(task)
    quality_keys = sorted({k for r in results for k in r.quality})
    head = [
        "cell",
        "size kB",
        "max abs",
        "mean abs",
        "min rtol",
        *quality_keys,
        f"{metric} drop" if metric else "drop",
        "load ms",
        "first ms",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "RSS MB",
        "verdict",
    ]
    body = []
    for r in results:
        css = "ref" if r.reference else ""
        css += " pass" if r.passed else " fail" if r.passed is False else ""
        e = r.errors or {}
        cells = [
            f'<td class="l">{html.escape(r.key)}</td>',
            f"<td>{fmt(r.size_bytes / 1024, 1)}</td>",
            f"<td>{fmt(e.get('max_abs'))}</td>",
            f"<td>{fmt(e.get('mean_abs'))}</td>",
            f"<td>{fmt(e.get('min_rtol'))}</td>",
        ]
        cells += [f"<td>{fmt(r.quality.get(k))}</td>" for k in quality_keys]
        cells += [f"<td>{fmt(r.metric_drop)}</td>"]
        cells += [
            f"<td>{fmt(r.latency.get(k))}</td>"
            for k in ("load_ms", "first_run_ms", "p50_ms", "p90_ms", "p99_ms")
        ]
        cells += [
            f"<td>{fmt(r.latency.get('peak_rss_mb'), 0)}</td>",
            f'<td class="l v">{html.escape(r.verdict)}</td>',
        ]
        body.append(f'<tr class="{css.strip()}">{"".join(cells)}</tr>')
        if r.failure:
            body.append(
                f'<tr><td colspan="{len(head)}" class="fail-detail">'
                f"{html.escape(r.stderr_tail or r.failure)}</td></tr>"
            )
    subtitle = " · ".join(f"{k}: {v}" for k, v in summary.items() if not isinstance(v, dict))
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='sub'>{html.escape(subtitle)}</p>",
        "<h2>Every artifact in every runtime</h2>",
        "<p>Errors are against the original model (the Keras checkpoint for TF artifacts, eager "
        "PyTorch for torch artifacts). Green: within tolerance (float artifacts) or within the "
        "allowed task-metric drop (quantized ones).</p>",
        "<table><tr>"
        + "".join(
            f'<th class="{"l" if h in ("cell", "verdict") else ""}">{html.escape(h)}</th>'
            for h in head
        )
        + "</tr>",
        *body,
        "</table>",
    ]
    parts += [f"<p>{html.escape(n)}</p>" for n in notes]
    for name, png in figures.items():
        parts += [f"<h2>{html.escape(name)}</h2>", img_tag(png, name)]
    for mode, rows in layers.items():
        parts.append(f"<h2>Where {html.escape(mode)} lose accuracy: the worst layers</h2>")
        parts.append(
            "<p>From the TFLite quantization debugger; rmse/scale is the layer's error in "
            "quantization steps (above about 0.3 the layer loses more than rounding).</p>"
        )
        parts.append(
            "<table><tr><th class='l'>layer</th><th>op</th><th>rmse/scale</th><th>max abs</th>"
            "<th>scale</th></tr>"
        )
        parts += [
            f"<tr><td class='l'>{html.escape(r['layer'])}</td><td>{r['op']}</td>"
            f"<td>{fmt(r['rmse_over_scale'])}</td>"
            f"<td>{fmt(r['max_abs_error'])}</td><td>{fmt(r['scale'])}</td></tr>"
            for r in rows
        ]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_json(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content, indent=2, default=str) + "\n")
