"""The sweep report: every job's experiment side by side, the latency/error Pareto front, and the
best configuration per criterion (reports/sweep.html and reports/sweep.csv)."""

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.backends.registry import KERAS_ORIGINAL, TORCH_ORIGINAL
from pipelines.metrics import PRIMARY_METRIC  # the task metrics evaluate.json holds
from pipelines.pages.render import png_uri, render
from pipelines.pages.text import fmt
from pipelines.sweep.experiments import JobResult, list_experiments
from pipelines.sweep.pareto import pareto_front, pareto_plot

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
CELL_FIELDS = ("passed", "p50_ms", "p99_ms", "max_abs", "size_kb")


def experiment_metrics(commit: str | None, remote: str | None = None) -> dict[str, Any] | None:
    """metrics/evaluate.json of the experiment at `commit` (None if there is none). The file is a
    DVC output, so it is read through DVC: from the cache, or fetched from `remote` when a clone
    workspace pushed it there."""
    import dvc.api
    from dvc.exceptions import FileMissingError, PathMissingError

    if commit is None:
        return None
    try:
        return json.loads(dvc.api.read("metrics/evaluate.json", rev=commit, remote=remote))
    except (FileMissingError, PathMissingError):  # the job failed before evaluate wrote it
        return None  # anything else (a remote or auth failure) stops the report, loudly


def _cell_rows(base: dict[str, Any], metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per cell of one experiment's metrics."""
    rows = []
    for cell, values in metrics["cells"].items():
        metric = next((values[m] for m in METRICS if m in values), None)
        rows.append(
            {**base, "cell": cell, "metric": metric, **{k: values.get(k) for k in CELL_FIELDS}}
        )
    return rows


def table_rows(results: list[JobResult], remote: str | None = None) -> list[dict[str, Any]]:
    """One row per (job, cell); a failed job gets one row with its error."""
    rows = []
    commits = list_experiments()
    for result in results:
        base = {
            "job": result["name"],
            "overrides": " ".join(result["overrides"]),
            "status": "ok" if result["ok"] else f"failed (exit {result['exit_code']})",
        }
        metrics = experiment_metrics(commits.get(result["name"]), remote) if result["ok"] else None
        if metrics is None:
            error = result.get("error") or "no metrics found for the experiment"
            rows.append({**base, "error": error})
        else:
            rows += _cell_rows(base, metrics)
    return rows


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
    """The best passing cell for each criterion (none when no cell passed)."""
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


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """The report's rows as CSV, one per (job, cell)."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in FIELDS} for r in rows)


@dataclass(frozen=True)
class JobRow:
    name: str
    ok: bool
    seconds: float
    stages: str
    error: str


@dataclass(frozen=True)
class BestRow:
    criterion: str
    job: str
    cell: str
    p50_ms: str
    max_abs: str
    metric: str
    size_kb: str


@dataclass(frozen=True)
class LatencyRow:
    cell: str
    values: list[str]  # p50 per job, in job order


def _pareto_uri(rows: list[dict[str, Any]]) -> str | None:
    """The Pareto picture of every deployable cell of every job (None when there is none)."""
    candidates = _candidates(rows)
    if not candidates:
        return None
    points = [(r["p50_ms"], max(r["max_abs"], 1e-9)) for r in candidates]
    labels = [f"{r['job']} {r['cell']}" for r in candidates]
    return png_uri(pareto_plot(points, pareto_front(points), labels))


def _latency_rows(results: list[JobResult], rows: list[dict[str, Any]]) -> list[LatencyRow]:
    p50 = {(r["job"], r["cell"]): r["p50_ms"] for r in rows if r.get("cell")}
    cells = sorted({cell for _, cell in p50})
    return [LatencyRow(cell, [fmt(p50.get((r["name"], cell))) for r in results]) for cell in cells]


def html_page(results: list[JobResult], rows: list[dict[str, Any]]) -> str:
    """The sweep page: jobs, best configuration per criterion, Pareto front, p50 per cell."""
    jobs = [
        JobRow(
            name=r["name"],
            ok=r["ok"],
            seconds=r["seconds"],
            stages=", ".join(r["stages_run"]) or "none (all cached)",
            error=r["error"] or "",
        )
        for r in results
    ]
    bests = [
        BestRow(
            criterion,
            r["job"],
            r["cell"],
            fmt(r["p50_ms"]),
            fmt(r["max_abs"]),
            fmt(r["metric"]),
            fmt(r["size_kb"], 1),
        )
        for criterion, r in best_per_criterion(rows).items()
    ]
    return render(
        "sweep.html",
        title="ckpt2cpp sweep",
        subtitle=f"{len(results)} jobs, {sum(r['ok'] for r in results)} succeeded",
        jobs=jobs,
        bests=bests,
        pareto_uri=_pareto_uri(rows),
        p50_rows=_latency_rows(results, rows),
    )


def write_report(
    results: list[JobResult], out_dir: Path, remote: str | None = None
) -> tuple[Path, Path]:
    """Write reports/sweep.html and reports/sweep.csv for the jobs' results; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = table_rows(results, remote)
    csv_path, html_path = out_dir / "sweep.csv", out_dir / "sweep.html"
    write_csv(rows, csv_path)
    html_path.write_text(html_page(results, rows))
    return html_path, csv_path
