"""DVC stage `evaluate`: every artifact x every runtime against the original model.

Writes metrics/evaluate.json (DVC metrics), plots/cells.csv (DVC plots), reports/index.html (a
self-contained page), reports/cells.json and reports/layers.json, and prints a compact table.
"""

import tempfile
from pathlib import Path

from pipelines import paths
from pipelines.atomic import atomic_outputs
from pipelines.config import Config
from pipelines.evaluate import report
from pipelines.evaluate.evaluation import evaluate
from pipelines.metrics import PRIMARY_METRIC
from pipelines.stage import run_stage

METRICS_FILE = paths.METRICS / "evaluate.json"
PLOT_FILE = paths.PLOTS / "cells.csv"
# Files, not the folder: reports/ also receives the sweep report (python -m pipelines.sweep).
REPORT_PAGE = paths.REPORTS / "index.html"
REPORT_CELLS = paths.REPORTS / "cells.json"
REPORT_LAYERS = paths.REPORTS / "layers.json"


def main(cfg: Config) -> None:
    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-eval-") as workdir:
        result = evaluate(cfg, Path(workdir))
    outputs = (METRICS_FILE, PLOT_FILE, REPORT_PAGE, REPORT_CELLS, REPORT_LAYERS)
    with atomic_outputs(*outputs) as (metrics_tmp, plot_tmp, page_tmp, cells_tmp, layers_tmp):
        report.write_json(metrics_tmp, report.metrics_json(result.summary, result.results))
        metric = PRIMARY_METRIC.get(cfg.model.task)
        report.write_plot_csv(plot_tmp, report.plot_rows(metric, result.results))
        title = f"ckpt2cpp evaluation: {cfg.model.name}"
        page_tmp.write_text(
            report.html_report(
                title,
                result.summary,
                result.results,
                cfg.model.task,
                result.figures,
                result.layers,
                result.notes,
            )
        )
        report.write_json(cells_tmp, [r.to_json() for r in result.results])
        report.write_json(layers_tmp, result.layers)
    print(report.terminal_table(result.results, cfg.model.task))
    for note in result.notes:
        print(note)
    print(f"report: {REPORT_PAGE}")


if __name__ == "__main__":
    run_stage("evaluate", main)
