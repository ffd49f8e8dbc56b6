"""The HTML pages escape every string that reaches them (issue: hostile values run nothing).

The pages are rendered straight from data, without building anything: a `<script>` in a layer or
op name, a cell, an error, a note, a config value or a sweep override must come out as text.
"""

import pytest

from pipelines.config import Task
from pipelines.evaluate.compare import CellResult
from pipelines.evaluate.report import html_report
from pipelines.pages.text import fmt, last_lines
from pipelines.sweep.experiments import JobResult
from pipelines.sweep.report import html_page

HOSTILE = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def assert_escaped(page: str) -> None:
    assert ESCAPED in page
    assert "<script" not in page.lower()  # the templates themselves have no script at all


def cell(key: str, **fields) -> CellResult:
    defaults = dict(
        artifact=key.split("@")[0],
        kind="int8",
        language="python",
        framework="tf",
        reference=False,
        size_bytes=2048,
    )
    return CellResult(key=key, **{**defaults, **fields})


def test_the_evaluation_page_escapes_names_errors_notes_and_config_values():
    results = [
        cell(
            f"tflite/{HOSTILE}@python",
            errors={"max_abs": 0.5, "mean_abs": 0.1, "min_rtol": 0.2},
            quality={"psnr": 30.0},
            passed=True,
            verdict=f"within {HOSTILE}",
            latency={"p50_ms": 1.5},
        ),
        cell("tflite/int8@cpp", failure="crashed", stderr_tail=f"error: {HOSTILE}", passed=False),
    ]
    layers = {
        f"int8 {HOSTILE}": [
            {
                "layer": HOSTILE,
                "op": HOSTILE,
                "rmse_over_scale": 0.4,
                "max_abs_error": 0.01,
                "scale": 0.02,
            }
        ]
    }
    page = html_report(
        title=f"ckpt2cpp evaluation: {HOSTILE}",
        summary={"model": HOSTILE, "cells": 2},
        results=results,
        task=Task.super_resolution,
        figures={HOSTILE: b"\x89PNG"},
        layers=layers,
        notes=[f"tflite/dynamic: {HOSTILE}"],
    )
    assert_escaped(page)
    for text in (
        "<title>ckpt2cpp evaluation: &lt;script&gt;",
        "model: &lt;script&gt;",
        f'<td class="l">{ESCAPED}</td><td>',
        f"error: {ESCAPED}</td>",
    ):
        assert text in page
    assert page.count(ESCAPED) == 12


def test_the_evaluation_page_lays_out_every_cell_and_its_failure():
    results = [
        cell("keras/checkpoint@python", reference=True, passed=None, latency={"p50_ms": 2.0}),
        cell("tflite/int8@cpp", failure="exit 139", stderr_tail="", passed=False, verdict="crash"),
    ]
    page = html_report("t", {"cells": 2}, results, Task.classification, {}, {}, [])
    assert '<tr class="ref"><td class="l">keras/checkpoint@python</td><td>2.0</td>' in page
    assert '<tr class="fail"><td class="l">tflite/int8@cpp</td>' in page
    assert '<td class="l v">crash</td>' in page
    assert '<tr><td colspan="14" class="fail-detail">exit 139</td></tr>' in page
    assert "<th>accuracy drop</th>" in page and "<img" not in page


def job(name: str, ok: bool, stages_run: list[str], error: str | None) -> JobResult:
    return JobResult(
        name=name,
        overrides=[name],
        ok=ok,
        exit_code=0 if ok else 1,
        stages_run=stages_run,
        seconds=1.0,
        started=0.0,
        finished=1.0,
        error=error,
    )


def test_the_sweep_page_escapes_overrides_cells_and_errors():
    override = f"model.name={HOSTILE}"
    results = [
        job(override, True, stages_run=[HOSTILE], error=None),
        job("evaluate.warmup=-1", False, stages_run=[], error=f"error: {HOSTILE}"),
    ]
    rows = [
        {
            "job": override,
            "cell": f"tflite/{HOSTILE}@cpp",
            "passed": True,
            "p50_ms": 1.0,
            "p99_ms": 2.0,
            "max_abs": 0.1,
            "metric": 30.0,
            "size_kb": 4.0,
        },
        {"job": "evaluate.warmup=-1", "error": f"error: {HOSTILE}"},
    ]
    page = html_page(results, rows)
    assert_escaped(page)
    assert f'<tr class="pass"><td class="l">model.name={ESCAPED}</td>' in page
    assert f'<td class="fail-detail">error: {ESCAPED}</td>' in page
    assert '<p class="sub">2 jobs, 1 succeeded</p>' in page and "Pareto front" in page


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(None, 3, "-"), (0.5, 3, "0.500"), (1e-4, 3, "1.00e-04"), (2e5, 1, "2.00e+05"), (7, 3, "7")],
)
def test_numbers_are_printed_short(value, digits, text):
    assert fmt(value, digits) == text


def test_an_output_tail_keeps_the_last_non_blank_lines():
    assert last_lines(b"a\n\nb\nc\n  \n", 2) == "b\nc"
