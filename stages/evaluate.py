"""DVC stage `evaluate`: every artifact x every runtime against the original model.

Writes metrics/evaluate.json (DVC metrics), plots/cells.csv (DVC plots), and reports/ (a
self-contained index.html plus cells.json), and prints a compact table.
"""

import tempfile
from pathlib import Path

from pipelines import paths
from pipelines.atomic import atomic_outputs
from pipelines.config import Config
from pipelines.evaluate import report
from pipelines.evaluate.compare import PRIMARY_METRIC
from pipelines.evaluate.evaluation import evaluate
from pipelines.stage import run_stage

METRICS_FILE = paths.METRICS / "evaluate.json"
PLOT_FILE = paths.PLOTS / "cells.csv"


def main(cfg: Config) -> None:
    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-eval-") as workdir:
        result = evaluate(cfg, Path(workdir))
    with atomic_outputs(METRICS_FILE, PLOT_FILE, paths.REPORTS) as (
        metrics_tmp,
        plot_tmp,
        report_tmp,
    ):
        report.write_json(metrics_tmp, report.metrics_json(result.summary, result.results))
        report.write_plot_csv(
            plot_tmp, report.plot_rows(PRIMARY_METRIC.get(cfg.model.task), result.results)
        )
        report_tmp.mkdir()
        page = report.html_report(
            f"ckpt2cpp evaluation: {cfg.model.name}",
            result.summary,
            result.results,
            cfg.model.task,
            result.figures,
            result.layers,
            result.notes,
        )
        (report_tmp / "index.html").write_text(page)
        report.write_json(report_tmp / "cells.json", [r.to_json() for r in result.results])
        report.write_json(report_tmp / "layers.json", result.layers)
    print(report.terminal_table(result.results, cfg.model.task))
    print(f"report: {paths.REPORTS / 'index.html'}")


if __name__ == "__main__":
    run_stage("evaluate", main)
