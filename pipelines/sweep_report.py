"""The sweep report: every job's experiment side by side, the latency/error Pareto front, and the
best configuration per criterion (reports/sweep.html and reports/sweep.csv)."""

import csv
import html
import json
from pathlib import Path
from typing import Any

from pipelines.backends.registry import KERAS_ORIGINAL, TORCH_ORIGINAL
from pipelines.evaluate.compare import PRIMARY_METRIC
from pipelines.evaluate.figures import pareto_plot
from pipelines.evaluate.report import STYLE, fmt, img_tag
from pipelines.sweep import experiment_refs

FIELDS = [
    "job",
    "overrides",
    "status",
    "cell",
    "passed",
    "p50_ms",
    "p99_ms",
    "max_abs",
    "metric",
    "size_kb",
    "error",
]
METRICS = tuple(PRIMARY_METRIC.values())


def experiment_metrics(commit: str | None, remote: str | None = None) -> dict[str, Any] | None:
    """metrics/evaluate.json of the experiment at `commit` (None if there is none). The file is a
    DVC output, so it is read through DVC: from the cache, or fetched from `remote` when a clone
    workspace pushed it there."""
    import dvc.api

    if commit is None:
        return None
    try:
        return json.loads(dvc.api.read("metrics/evaluate.json", rev=commit, remote=remote))
    except Exception:  # a missing file or object: reported as "no metrics" for that job
        return None


def table_rows(results: list[dict[str, Any]], remote: str | None = None) -> list[dict[str, Any]]:
    """One row per (job, cell); a failed job gets one row with its error."""
    rows = []
    commits = experiment_refs()
    for result in results:
        base = {
            "job": result["name"],
            "overrides": " ".join(result["overrides"]),
            "status": "ok" if result["ok"] else f"failed (exit {result['exit_code']})",
        }
        metrics = experiment_metrics(commits.get(result["name"]), remote) if result["ok"] else None
        if metrics is None:
            rows.append(
                {**base, "error": result.get("error") or "no metrics found for the experiment"}
            )
            continue
        for cell, values in metrics["cells"].items():
            metric = next((values[m] for m in METRICS if m in values), None)
            rows.append(
                {
                    **base,
                    "cell": cell,
                    "passed": values.get("passed"),
                    "p50_ms": values.get("p50_ms"),
                    "p99_ms": values.get("p99_ms"),
                    "max_abs": values.get("max_abs"),
                    "metric": metric,
                    "size_kb": values.get("size_kb"),
                }
            )
    return rows


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats on both coordinates (both minimised)."""
    return [
        i
        for i, (x, y) in enumerate(points)
        if not any((ox <= x and oy <= y) and (ox < x or oy < y) for ox, oy in points)
    ]


def _candidates(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deployable cells: ran, were judged, and are not the original model itself."""
    return [
        r
        for r in rows
        if r.get("p50_ms") is not None
        and r.get("max_abs") is not None
        and r["cell"].split("@")[0] not in (KERAS_ORIGINAL, TORCH_ORIGINAL)
    ]


def best_per_criterion(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    passing = [r for r in _candidates(rows) if r["passed"]]
    if not passing:
        return {}
    best = {
        "fastest (p50) among passing cells": min(passing, key=lambda r: r["p50_ms"]),
        "smallest artifact among passing cells": min(passing, key=lambda r: r["size_kb"]),
        "closest to the original (max abs error)": min(passing, key=lambda r: r["max_abs"]),
    }
    with_metric = [r for r in passing if r["metric"] is not None]
    if with_metric:
        best["best task metric"] = max(with_metric, key=lambda r: r["metric"])
    return best


def write_report(
    results: list[dict[str, Any]], out_dir: Path, remote: str | None = None
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = table_rows(results, remote)
    csv_path, html_path = out_dir / "sweep.csv", out_dir / "sweep.html"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in FIELDS} for r in rows)
    candidates = _candidates(rows)
    points = [(r["p50_ms"], max(r["max_abs"], 1e-9)) for r in candidates]
    front = pareto_front(points)
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>ckpt2cpp sweep</title>"
        f"<style>{STYLE}</style></head><body><h1>ckpt2cpp sweep</h1>",
        f"<p class='sub'>{len(results)} jobs, {sum(r['ok'] for r in results)} succeeded</p>",
        "<h2>Jobs</h2><table><tr><th class='l'>experiment</th><th class='l'>status</th><th>seconds</th>"
        "<th class='l'>stages run</th><th class='l'>error</th></tr>",
    ]
    for r in results:
        css = "pass" if r["ok"] else "fail"
        parts.append(
            f"<tr class='{css}'><td class='l'>{html.escape(r['name'])}</td><td class='l v'>"
            f"{'ok' if r['ok'] else 'failed'}</td><td>{r['seconds']}</td><td class='l'>"
            f"{html.escape(', '.join(r['stages_run']) or 'none (all cached)')}</td>"
            f"<td class='fail-detail'>{html.escape(r['error'] or '')}</td></tr>"
        )
    parts.append(
        "</table><h2>Best configuration per criterion</h2><table><tr><th class='l'>criterion</th>"
        "<th class='l'>experiment</th><th class='l'>cell</th><th>p50 ms</th><th>max abs</th>"
        "<th>metric</th><th>size kB</th></tr>"
    )
    for criterion, r in best_per_criterion(rows).items():
        parts.append(
            f"<tr><td class='l'>{html.escape(criterion)}</td><td class='l'>{html.escape(r['job'])}</td>"
            f"<td class='l'>{html.escape(r['cell'])}</td><td>{fmt(r['p50_ms'])}</td>"
            f"<td>{fmt(r['max_abs'])}</td><td>{fmt(r['metric'])}</td><td>{fmt(r['size_kb'], 1)}</td></tr>"
        )
    parts.append("</table>")
    if candidates:
        labels = [f"{r['job']} {r['cell']}" for r in candidates]
        parts += [
            "<h2>Latency against error: the Pareto front</h2>",
            "<p>Every cell of every job; the front (no other cell is both faster and closer to "
            "the original) is highlighted and labelled.</p>",
            img_tag(pareto_plot(points, front, labels), "Pareto front"),
        ]
    cells = sorted({r["cell"] for r in rows if r.get("cell")})
    p50 = {(r["job"], r["cell"]): r["p50_ms"] for r in rows if r.get("cell")}
    parts.append(
        "<h2>p50 latency (ms) per cell</h2><table><tr><th class='l'>cell</th>"
        + "".join(f"<th>{html.escape(r['name'])}</th>" for r in results)
        + "</tr>"
    )
    for cell in cells:
        values = "".join(f"<td>{fmt(p50.get((r['name'], cell)))}</td>" for r in results)
        parts.append(f"<tr><td class='l'>{html.escape(cell)}</td>{values}</tr>")
    parts.append("</table></body></html>")
    html_path.write_text("\n".join(parts))
    return html_path, csv_path
