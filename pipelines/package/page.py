"""reports/bundles.html: the "what would I ship?" table of the bundles in dist/, and what was
not bundled and why."""

from typing import Any

from pipelines.package.make import footprint_row
from pipelines.package.readme import STATUS
from pipelines.pages.render import render


def _shown(value: Any) -> Any:
    """A number as the page shows it ("-" where there is none)."""
    if value is None:
        return "-"
    return round(value, 3) if isinstance(value, float) else value


def page(summary: dict[str, Any]) -> str:
    """The page of a package stage's summary (dist/bundles.json)."""
    rows, machine = [], "this machine"
    for name, record in summary["bundles"].items():
        row = footprint_row(record)
        runs = record["proof"]["runs"]
        machine = record["proof"]["machine"]
        evaluated = record["evaluation"] or {}
        rows.append({
            "name": name, "artifact": record["artifact"], "platform": record["platform"],
            **{k: _shown(v) for k, v in row.items()},
            "passed": evaluated.get("passed"), "verdict": evaluated.get("verdict", "not evaluated"),
            "runs": ", ".join(f"{cpu}: {STATUS[r['status']]}" for cpu, r in runs.items()),
        })  # fmt: skip
    skipped = [*summary["skipped"].items(), *summary["platforms_skipped"].items()]
    return render("bundles.html", title="ckpt2cpp deploy bundles", machine=machine,
                  subtitle=f"{len(rows)} bundles in dist/", bundles=rows, skipped=skipped)  # fmt: skip
