"""Judge each cell against the original model: error, task metric, verdict."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import metrics
from pipelines.backends.registry import Artifact
from pipelines.config import Config, Task
from pipelines.evaluate.cells import CellRun

PRIMARY_METRIC = {Task.super_resolution: "psnr", Task.classification: "accuracy"}
LATENCY_KEYS = (
    "load_ms",
    "first_run_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "mean_ms",
    "peak_rss_mb",
    "threads",
    "runs",
)


@dataclass
class CellResult:
    key: str
    artifact: str
    kind: str
    language: str
    framework: str
    reference: bool
    size_bytes: int
    failure: str | None = None
    stderr_tail: str = ""
    errors: dict[str, float] | None = None
    quality: dict[str, float] = field(default_factory=dict)
    metric_drop: float | None = None
    passed: bool | None = None
    verdict: str = ""
    latency: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def artifact_size(path: Path) -> int:
    """Bytes on disk: a file, a directory tree, or a TF checkpoint prefix's files."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.parent.glob(f"{path.name}.*"))


def to_nhwc(outputs: np.ndarray, artifact: Artifact) -> np.ndarray:
    """Bring NCHW image outputs of PyTorch artifacts into the NHWC layout used for comparisons."""
    return (
        outputs.transpose(0, 2, 3, 1)
        if artifact.layout == "NCHW" and outputs.ndim == 4
        else outputs
    )


def judge(
    cfg: Config,
    artifact: Artifact,
    run: CellRun,
    outputs: np.ndarray | None,
    original: np.ndarray | None,
    original_quality: dict[str, float],
    targets: np.ndarray | None,
) -> CellResult:
    """Turn one cell's outputs into errors, task metrics and a pass/fail verdict."""
    result = CellResult(
        key=run.cell.key,
        artifact=artifact.name,
        kind=artifact.kind,
        language=run.cell.language,
        framework=artifact.framework.name,
        reference=artifact.reference,
        size_bytes=artifact_size(artifact.path),
        failure=run.failure,
        stderr_tail=run.stderr_tail,
        latency={k: run.stats[k] for k in LATENCY_KEYS if k in run.stats},
    )
    if outputs is None:
        result.passed, result.verdict = False, f"failed: {run.failure}"
        return result
    if original is None:
        result.passed, result.verdict = False, "no original-model outputs to compare with"
        return result
    try:
        result.errors = metrics.error_stats(outputs, original)
    except ValueError as error:
        result.passed, result.verdict = False, str(error)
        return result
    result.quality = metrics.task_quality(cfg.model.task, outputs, targets, original)
    primary = PRIMARY_METRIC.get(cfg.model.task)
    if primary in result.quality and primary in original_quality:
        result.metric_drop = original_quality[primary] - result.quality[primary]
    tolerance = cfg.evaluate.tolerances.get(artifact.kind)
    max_abs = result.errors["max_abs"]
    if artifact.reference:
        result.passed, result.verdict = True, "original model"
    elif tolerance is not None:
        result.passed = max_abs <= tolerance
        result.verdict = f"max abs {max_abs:.2g} {'<=' if result.passed else '>'} {tolerance:g}"
    elif result.metric_drop is not None:
        allowed = cfg.evaluate.max_metric_drop.get(cfg.model.task.name)
        if allowed is None:
            result.verdict = (
                f"{primary} drop {result.metric_drop:.3g} "
                f"(no evaluate.max_metric_drop.{cfg.model.task.name})"
            )
        else:
            result.passed = result.metric_drop <= allowed
            relation = "<=" if result.passed else ">"
            result.verdict = f"{primary} drop {result.metric_drop:.3g} {relation} {allowed:g}"
    else:
        result.verdict = (
            f"max abs {max_abs:.2g} (no tolerance for {artifact.kind} and no task metric)"
        )
    return result
