"""Every cell runs in its own process: a crash or a hang is that cell's failure, nothing more."""

from dataclasses import replace
from itertools import groupby

import numpy as np
import pytest

from pipelines.evaluate.cells import (
    Cell,
    CellJob,
    RunSettings,
    python_command,
    run_cell,
    run_interleaved,
)
from tests.conftest import REPO


@pytest.fixture
def inputs(tmp_path):
    path = tmp_path / "inputs.npy"
    np.save(path, np.arange(12, dtype=np.float32).reshape(3, 1, 2, 2))
    return path


def cell(runner: str) -> Cell:
    command = python_command(f"tests.doubles.{runner}", REPO / "no-model", REPO / "params.yaml")
    return Cell(runner, "python", command)


def double_artifact(name: str):
    """A TF artifact run by tests.doubles.DoublingRunner (the path is never opened)."""
    from pipelines.backends.registry import Artifact
    from pipelines.config import Framework

    return Artifact(
        name=name,
        kind="double",
        framework=Framework.tf,
        path=REPO / "no-model",
        python_runner="tests.doubles.DoublingRunner",
        cpp_runtime=None,
    )


def test_a_working_cell_returns_outputs_and_stats(inputs, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    settings = RunSettings(warmup=1, runs=7, threads=1, timeout_s=120)
    run = run_cell(cell("DoublingRunner"), {"input": inputs}, ["output"], tmp_path, settings)
    assert run.ok, run.stderr_tail
    assert np.array_equal(run.outputs["output"], np.load(inputs) * 2)
    assert run.stats["runs"] == 7 and run.stats["samples"] == 3
    assert run.stats["min_ms"] <= run.stats["p50_ms"] <= run.stats["p99_ms"] <= run.stats["max_ms"]


def test_cells_take_turns_round_after_round(inputs, tmp_path, monkeypatch):
    """Each cell times one round while the others wait, so noise slows every cell alike."""
    calls = tmp_path / "calls.log"
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("CKPT2CPP_TEST_CALLS", str(calls))
    settings = RunSettings(warmup=0, runs=4, rounds=3, threads=1, timeout_s=120)
    jobs = [
        CellJob.plan(
            replace(cell("CallLoggingRunner"), artifact=name, profiled=True),
            {"input": inputs},
            ["output"],
            tmp_path,
        )
        for name in ("first", "second")
    ]
    runs = run_interleaved(jobs, settings)
    assert all(r.ok for r in runs), [r.stderr_tail for r in runs]
    blocks = [(pid, len(list(group))) for pid, group in groupby(calls.read_text().split())]
    a, b = blocks[0][0], blocks[1][0]
    # each: one pass over the 3 samples once loaded, then 3 rounds of 4 timed runs, in turns,
    # then (no one timing any more) a profile of 4 runs, one runner after the other
    assert blocks == [(a, 3), (b, 3)] + [(a, 4), (b, 4)] * 3 + [(a, 4), (b, 4)]
    assert [len(r.stats["round_p50_ms"]) for r in runs] == [3, 3]
    assert [r.profile["ops"][0]["kind"] for r in runs if r.profile] == ["double", "double"]


@pytest.mark.parametrize(
    ("start_together", "order"),
    [(1, ["load", "loaded", "load", "loaded"]), (2, ["load", "load", "loaded", "loaded"])],
)
def test_cells_load_one_at_a_time_unless_told_otherwise(
    inputs, tmp_path, monkeypatch, start_together, order
):
    calls = tmp_path / "calls.log"
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("CKPT2CPP_TEST_CALLS", str(calls))
    settings = RunSettings(
        warmup=0, runs=1, rounds=1, threads=1, timeout_s=120, start_together=start_together
    )
    jobs = [
        CellJob.plan(
            replace(cell("SlowLoadingRunner"), artifact=name),
            {"input": inputs},
            ["output"],
            tmp_path,
        )
        for name in ("first", "second")
    ]
    assert all(r.ok for r in run_interleaved(jobs, settings))
    assert [line.split()[0] for line in calls.read_text().splitlines()] == order


def test_a_segfault_is_recorded_with_its_signal(inputs, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    settings = RunSettings(warmup=1, runs=3, threads=1, timeout_s=120)
    run = run_cell(cell("SegfaultRunner"), {"input": inputs}, ["output"], tmp_path, settings)
    assert not run.ok
    assert run.failure == "killed by signal SIGSEGV" and run.exit_code == -11
    assert run.outputs is None


def test_a_hang_is_cut_off_by_the_timeout(inputs, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    settings = RunSettings(warmup=1, runs=3, threads=1, timeout_s=8)
    run = run_cell(cell("HangingRunner"), {"input": inputs}, ["output"], tmp_path, settings)
    assert run.failure == "timed out after 8 s"
    assert run.wall_s < 60


def test_a_crash_does_not_stop_the_other_cells(inputs, tmp_path, monkeypatch):
    from pipelines.config import load
    from pipelines.evaluate.evaluation import run_cells

    monkeypatch.chdir(REPO)
    artifact = double_artifact("double")
    cells = [(artifact, cell("SegfaultRunner")), (artifact, cell("DoublingRunner"))]
    runs = run_cells(cells, {"NHWC": {"input": inputs}}, tmp_path, load(REPO / "params.yaml"))
    assert [r.ok for r in runs] == [False, True]


def test_an_output_of_the_wrong_shape_fails_its_cell_and_is_compared_with_nothing(monkeypatch):
    from pipelines.config import Framework, load
    from pipelines.evaluate.cells import CellRun
    from pipelines.evaluate.evaluation import judge_cells

    monkeypatch.chdir(REPO)
    cfg = load(REPO / "params.yaml")
    original = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    artifact = double_artifact("tf/double")
    python, cpp = Cell(artifact.name, "python", []), Cell(artifact.name, "cpp", [])
    runs = [
        CellRun(python, outputs={"output": original + 1e-3}),
        CellRun(cpp, outputs={"output": original[..., :1]}),
    ]
    originals = {Framework.tf: {"output": original}}
    results, outputs = judge_cells(
        cfg, [(artifact, python), (artifact, cpp)], runs, originals, {}, original
    )
    by_key = {r.key: r for r in results}
    assert by_key["tf/double@cpp"].passed is False
    assert "shape (2, 16, 16, 1) differs" in by_key["tf/double@cpp"].verdict
    assert "cpp_vs_python" not in by_key["tf/double@cpp"].quality  # no silent broadcasting
    assert list(outputs) == ["tf/double@python"]
    assert by_key["tf/double@python"].errors["max_abs"] == pytest.approx(1e-3, rel=1e-3)


@pytest.mark.parametrize(("noise", "passed"), [(1e-3, True), (0.5, False)])
def test_without_a_task_metric_a_quantized_cell_is_judged_by_its_snr(monkeypatch, noise, passed):
    from dataclasses import replace

    from pipelines.config import Framework, Task, load
    from pipelines.evaluate.cells import CellRun
    from pipelines.evaluate.evaluation import judge_cells

    monkeypatch.chdir(REPO)
    cfg = load(REPO / "params.yaml")
    cfg.model.task = Task.generic
    original = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    artifact = replace(double_artifact("tflite/int8"), kind="int8")  # no tolerance: judged by SNR
    cell = Cell(artifact.name, "python", [])
    noisy = original + np.float32(noise) * np.random.default_rng(1).standard_normal(original.shape)
    (result,), _ = judge_cells(
        cfg,
        [(artifact, cell)],
        [CellRun(cell, outputs={"output": noisy})],
        {Framework.tf: {"output": original}},
        {},
        None,
    )
    assert result.passed is passed, result.verdict
    assert result.verdict.startswith("SNR ") and "no task metric" in result.verdict
