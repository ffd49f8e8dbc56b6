"""DVC stage `package`: the chosen artifacts -> dist/<artifact>/ and dist/<artifact>.tar.gz,
deploy bundles proven by building and running their example elsewhere (pipelines/package/), and
metrics/package.json and reports/bundles.html, the "what would I ship?" footprint of each."""

from pipelines import jsonfile, paths
from pipelines.atomic import atomic_outputs
from pipelines.config import Config
from pipelines.package.make import footprint_row, package
from pipelines.package.page import page
from pipelines.stage import run_stage

CELLS = paths.REPORTS / "cells.json"
METRICS_FILE = paths.METRICS / "package.json"
PAGE = paths.REPORTS / "bundles.html"


def main(cfg: Config) -> None:
    cells = jsonfile.read(CELLS)
    with atomic_outputs(paths.DIST, METRICS_FILE, PAGE) as (dist, metrics, html):
        summary = package(cfg, cells, dist)
        rows = {name: footprint_row(record) for name, record in summary["bundles"].items()}
        jsonfile.write(metrics, {"bundles": rows}, sort_keys=True)
        html.write_text(page(summary))


if __name__ == "__main__":
    run_stage("package", main)
