"""Build the artifact x runtime matrix, run every cell in isolation, and judge it."""

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import data, metrics, paths, sidecar, tensors
from pipelines.backends.cpp.build import PROGRAMS
from pipelines.backends.registry import PYTHON_RUNNERS, Artifact, artifacts, not_applicable
from pipelines.backends.tf import nodes
from pipelines.backends.tflite.export import FULL_INTEGER
from pipelines.config import (
    Config,
    CppRuntime,
    Framework,
    Language,
    ModelConfig,
    QuantMode,
    Task,
)
from pipelines.evaluate import figures
from pipelines.evaluate.cells import (
    Cell,
    CellJob,
    CellRun,
    RunSettings,
    cpp_command,
    python_command,
    run_interleaved,
)
from pipelines.evaluate.compare import CellResult, judge, to_nhwc
from pipelines.evaluate.debugger import short_layer_name
from pipelines.metrics import PRIMARY_METRIC
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    summary: dict[str, Any]
    results: list[CellResult]
    figures: dict[str, bytes] = field(default_factory=dict)
    layers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def plan(cfg: Config, found: list[Artifact], bin_dir: Path) -> list[tuple[Artifact, Cell]]:
    """The cells to run: each artifact in Python and, where a C++ runner runs it, in C++; one
    cell of each exported artifact also profiles it per op, where a profiler is wired up."""
    cells = []
    for artifact in found:
        runtime = artifact.cpp_runtime
        if Language.python in cfg.evaluate.languages or artifact.reference:
            command = python_command(artifact.python_runner, artifact.path)
            # LiteRT's profiler is reached through its C API (litert_runner), TF's step stats
            # and torch.profiler from Python: runner classes with a `profile` method
            runner = PYTHON_RUNNERS.get(artifact.python_runner)
            profiled = callable(getattr(runner, "profile", None))
            cells.append((artifact, Cell(artifact.name, "python", command, profiled)))
        if Language.cpp in cfg.evaluate.languages and runtime in cfg.cpp.runtimes:
            # tf_runner is told the graph nodes; the other runners need nothing but the model
            extra = nodes.cpp_flags(artifact.path) if runtime is CppRuntime.tf else []
            command = cpp_command(
                bin_dir / PROGRAMS[runtime], artifact.path, [*extra, *artifact.cpp_flags]
            )
            profiled = runtime is CppRuntime.litert
            cells.append((artifact, Cell(artifact.name, "cpp", command, profiled)))
    return cells


def write_inputs(inputs: Tensors, model: ModelConfig, workdir: Path) -> dict[str, dict[str, Path]]:
    """The evaluation inputs as .npy files by artifact layout, then input name: an image model's
    once per layout the runtimes take (NHWC, NCHW: image inputs transposed), any other once
    (layout "")."""
    found: dict[str, dict[str, Path]] = {}
    for layout in ("NHWC", "NCHW") if model.is_image else ("",):
        arrays = tensors.to_layout(inputs, model.input_tensors, nchw=layout == "NCHW")
        found[layout] = {}
        for name, array in arrays.items():
            path = workdir / f"inputs_{name}_{layout.lower() or 'any'}.npy"
            np.save(path, array)
            found[layout][name] = path
    return found


def cell_jobs(
    cells: list[tuple[Artifact, Cell]],
    inputs: dict[str, dict[str, Path]],
    model: ModelConfig,
    workdir: Path,
) -> list[CellJob]:
    """Each cell's job: the input files of its artifact's layout, its files in `workdir`."""
    return [CellJob.plan(c, inputs[a.layout], model.output_names, workdir) for a, c in cells]


def time_cells(
    cells: list[tuple[Artifact, Cell]],
    inputs: Tensors,
    model: ModelConfig,
    settings: RunSettings,
    progress: str,
) -> list[CellRun]:
    """Run `cells` on `inputs`, taking turns, in a scratch folder (the benchmarks)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        jobs = cell_jobs(cells, write_inputs(inputs, model, workdir), model, workdir)
        return run_interleaved(jobs, settings, progress)


def run_cells(
    cells: list[tuple[Artifact, Cell]],
    inputs: dict[str, dict[str, Path]],
    workdir: Path,
    cfg: Config,
) -> list[CellRun]:
    """Run every cell, the cells taking turns between rounds (never concurrently: they are
    being timed)."""
    jobs = cell_jobs(cells, inputs, cfg.model, workdir)
    runs = run_interleaved(jobs, RunSettings.from_config(cfg.evaluate))
    for run in runs:
        if run.ok:
            log.info(
                "%-28s p50 %8.3f ms (rounds %s)",
                run.cell.key,
                run.stats["p50_ms"],
                " ".join(f"{p:.3f}" for p in run.stats["round_p50_ms"]),
            )
        else:
            log.warning(
                "%-28s FAILED (%s): %s",
                run.cell.key,
                run.failure,
                run.stderr_tail.splitlines()[-1:] or "",
            )
    return runs


def _references(cells, runs) -> dict[Framework, Tensors]:
    found = {}
    for (artifact, _), run in zip(cells, runs, strict=True):
        if artifact.reference and run.outputs is not None:
            found[artifact.framework] = to_nhwc(run.outputs, artifact)
    return found


def evaluate(cfg: Config, workdir: Path, bin_dir: Path = paths.CPP_BIN) -> Evaluation:
    """Run the whole matrix and return judged results plus report material."""
    inputs, targets = data.load_eval(paths.DATASET, cfg.model)
    cells = plan(cfg, artifacts(cfg), bin_dir)
    runs = run_cells(cells, write_inputs(inputs, cfg.model, workdir), workdir, cfg)
    originals = _references(cells, runs)
    original_quality = {
        fw: metrics.task_quality(cfg.model.task, tensors.first(out), targets)
        for fw, out in originals.items()
    }
    results, outputs = judge_cells(cfg, cells, runs, originals, original_quality, targets)
    evaluation = Evaluation(_summary(cfg, results, original_quality), results)
    evaluation.figures = _figures(cfg, results, outputs, tensors.first(inputs), targets, originals)
    evaluation.layers = _layer_diagnostics(cfg, inputs)
    evaluation.notes = _notes(cfg)
    return evaluation


def judge_cells(
    cfg: Config,
    cells: list[tuple[Artifact, Cell]],
    runs: list[CellRun],
    originals: dict[Framework, Tensors],
    original_quality: dict[Framework, dict[str, float]],
    targets: np.ndarray | None,
) -> tuple[list[CellResult], dict[str, Tensors]]:
    """Judge every cell, and keep (by cell key) the outputs shaped like their original's, the
    only ones the language comparison and the pictures can use."""
    results: list[CellResult] = []
    outputs: dict[str, Tensors] = {}
    for (artifact, cell), run in zip(cells, runs, strict=True):
        out = to_nhwc(run.outputs, artifact) if run.outputs is not None else None
        result = judge(
            cfg,
            artifact,
            run,
            out,
            originals.get(artifact.framework),
            original_quality.get(artifact.framework, {}),
            targets,
        )
        if out is not None and result.errors is not None:
            outputs[cell.key] = out
        results.append(result)
    _compare_languages(results, outputs)
    return results, outputs


def _compare_languages(results: list[CellResult], outputs: dict[str, Tensors]) -> None:
    """Record, on each C++ cell, how far it is from the Python runtime on the same artifact."""
    for r in results:
        python_key = f"{r.artifact}@python"
        if r.language == "cpp" and r.key in outputs and python_key in outputs:
            errors = metrics.tensor_errors(outputs[r.key], outputs[python_key])
            r.quality["cpp_vs_python"] = errors["all"]["max_abs"]


def _summary(cfg: Config, results: list[CellResult], original_quality: dict) -> dict[str, Any]:
    judged = [r for r in results if not r.reference]
    summary: dict[str, Any] = {
        "model": cfg.model.name,
        "task": cfg.model.task.name,
        "threads": cfg.evaluate.threads,
        "cells": len(results),
        "failed": sum(r.failure is not None for r in results),
        "passed": sum(bool(r.passed) for r in judged),
        "not_passed": sum(r.passed is False for r in judged),
    }
    metric = PRIMARY_METRIC.get(cfg.model.task)
    for framework, values in original_quality.items():
        if metric in values:
            summary[f"original_{framework.name}_{metric}"] = round(values[metric], 4)
    return summary


def selective_search(cfg: Config) -> sidecar.Selective | None:
    """int8_selective's search record, when this configuration builds that mode: a folder left
    by an earlier configuration is never read."""
    if not cfg.model.uses_tf or QuantMode.int8_selective not in cfg.quantize.modes:
        return None
    info = sidecar.find(paths.tflite_model(QuantMode.int8_selective), sidecar.TFLite)
    return None if info is None else info.get("selective")


def _figures(cfg, results, outputs, inputs, targets, originals) -> dict[str, bytes]:
    found = {
        "Latency per cell": figures.latency_bars(results),
        "Error per cell": figures.error_bars(results),
        "Latency vs error": figures.latency_vs_error(results),
    }
    record = selective_search(cfg)
    if record is not None and len(record.get("steps", [])) > 1:
        found["int8_selective: layers kept in float vs accuracy"] = figures.selective_tradeoff(
            dict(record)
        )
    panels = _one_output_per_artifact(results, outputs)
    if not panels:
        return found
    # each artifact against its own framework's original (outputs only exist where one does)
    framework = {r.artifact: Framework[r.framework] for r in results}
    original = {k: tensors.first(originals[framework[k]]) for k in panels}
    if cfg.model.task is Task.super_resolution:
        found["Image grid (evaluation sample 0)"] = figures.image_grid(
            inputs[0],
            None if targets is None else targets[0],
            {k: v[0] for k, v in panels.items()},
            {k: v[0] for k, v in original.items()},
        )
    elif cfg.model.task is Task.classification:
        classes = {k: v.argmax(-1) for k, v in panels.items()}
        if cfg.model.is_image:  # the samples are shown as pictures
            found["Disagreements with the original model"] = figures.disagreements(
                inputs, {k: v.argmax(-1) for k, v in original.items()}, classes, targets
            )
        if targets is not None and classes:
            worst = min(classes, key=lambda k: float(np.mean(classes[k] == targets)))
            found[f"Confusion matrix of the least accurate artifact ({worst})"] = figures.confusion(
                targets, classes[worst], worst
            )
    return found


def _one_output_per_artifact(results, outputs) -> dict[str, np.ndarray]:
    """The first output of each artifact: C++ where it exists (that is what ships), else
    Python; originals excluded."""
    chosen: dict[str, np.ndarray] = {}
    for r in sorted(results, key=lambda r: r.language != "cpp"):
        if not r.reference and r.key in outputs and r.artifact not in chosen:
            chosen[r.artifact] = tensors.first(outputs[r.key])
    return chosen


def _layer_diagnostics(cfg: Config, inputs: Tensors) -> dict[str, list[dict[str, Any]]]:
    integer_modes = [  # those built: a network the converter refuses has no layers to show
        m
        for m in cfg.quantize.modes
        if m in FULL_INTEGER and sidecar.find(paths.tflite_model(m), sidecar.TFLite)
    ]
    if not integer_modes or not cfg.model.uses_tf or cfg.evaluate.debug_layers == 0:
        return {}
    from pipelines.evaluate.debugger import layer_errors

    calibration = data.load_calibration(paths.DATASET, cfg.quantize.calibration_samples, cfg.model)
    rows = layer_errors(paths.SAVEDMODEL_DIR, cfg.model, calibration, tensors.rows(inputs, 0, 8))
    label = " and ".join(m.name for m in integer_modes)
    return {label: rows[: cfg.evaluate.debug_layers]}


# How the original models are timed: as a Python service would run them.
ORIGINAL_TIMING = {
    Framework.tf: "keras/checkpoint: the Keras model called inside a tf.function (graph mode)",
    Framework.torch: "torch/eager: the nn.Module in eval mode under torch.inference_mode",
}


def _notes(cfg: Config) -> list[str]:
    notes = [ORIGINAL_TIMING[framework] for framework in cfg.model.frameworks]
    notes += [f"{name}: not applicable: {why}" for name, why in not_applicable(cfg).items()]
    if cfg.evaluate.start_together > 1:
        notes.append(
            f"load and first-run times were measured {cfg.evaluate.start_together} cells at a "
            "time (evaluate.start_together): they shared the CPU"
        )
    if cfg.model.uses_tf and cfg.evaluate.tf_bf16:
        notes.append(
            "tf/savedmodel_bf16, tf/frozen_bf16: the SavedModel and the frozen graph run with "
            "TensorFlow's oneDNN bfloat16 auto-mixed-precision (evaluate.tf_bf16; tf_runner "
            "--bf16), judged by the task metric"
        )
    for mode in cfg.quantize.modes:
        info = sidecar.find(paths.tflite_model(mode), sidecar.TFLite)
        if info is not None and not info["effective"]:
            notes.append(f"tflite/{mode.name}: {info['effect']}")
        if info is not None and "selective" in info:
            notes.append(f"tflite/{mode.name}: {selective_summary(info['selective'])}")
    return notes


def selective_summary(record: sidecar.Selective) -> str:
    """One line: which layers int8_selective kept in float, for which target, after how many
    steps."""
    chosen = record["steps"][-1]
    names = [short_layer_name(n) for n in chosen["float_layers"]]
    kept = ", ".join(names) if names else "none (plain int8 meets it)"
    return (
        f"{len(names)} of {record['quantized_layers']} layers kept in float for "
        f"{record['target']}: {kept}; {chosen['verdict']} on {record['samples']} samples, "
        f"{len(record['steps'])} step(s) searched"
    )
