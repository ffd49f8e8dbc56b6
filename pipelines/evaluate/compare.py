"""Judge each cell against the original model: error, task metric, verdict."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import metrics, tensors
from pipelines.backends.registry import Artifact
from pipelines.config import Config
from pipelines.evaluate.cells import CellRun
from pipelines.tensors import Tensors

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
    "rounds",
)


def latency_of(stats: dict[str, Any]) -> dict[str, float]:
    """The stats a cell's row shows, plus `p50_spread_pct`: how far apart its rounds' p50s
    are, in percent of the p50 (the noise the cell's p50 was measured under)."""
    found = {k: stats[k] for k in LATENCY_KEYS if k in stats}
    rounds = stats.get("round_p50_ms") or []
    if len(rounds) > 1 and stats.get("p50_ms"):
        found["p50_spread_pct"] = 100 * (max(rounds) - min(rounds)) / stats["p50_ms"]
    return found


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
    errors: dict[str, float] | None = None  # over every output together
    output_errors: dict[str, dict[str, float]] = field(default_factory=dict)  # several outputs
    quality: dict[str, float] = field(default_factory=dict)
    metric_drop: float | None = None
    passed: bool | None = None
    verdict: str = ""
    latency: dict[str, float] = field(default_factory=dict)
    profile: dict[str, Any] | None = None  # per-op times, where the cell profiled (--profile)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def artifact_size(path: Path) -> int:
    """Bytes on disk: a file, a directory tree, or a TF checkpoint prefix's files."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.parent.glob(f"{path.name}.*"))


def to_nhwc(outputs: Tensors, artifact: Artifact) -> Tensors:
    """Bring NCHW image outputs of PyTorch artifacts into the NHWC layout used for comparisons."""
    return {
        name: a.transpose(0, 2, 3, 1) if artifact.layout == "NCHW" and a.ndim == 4 else a
        for name, a in outputs.items()
    }


def _measured(artifact: Artifact, run: CellRun) -> CellResult:
    """A cell's result before judging: what it is, how it ran, and its latency."""
    return CellResult(
        key=run.cell.key,
        artifact=artifact.name,
        kind=artifact.kind,
        language=run.cell.language,
        framework=artifact.framework.name,
        reference=artifact.reference,
        size_bytes=artifact_size(artifact.path),
        failure=run.failure,
        stderr_tail=run.stderr_tail,
        latency=latency_of(run.stats),
        profile=run.profile,
    )


def _verdict(
    cfg: Config, artifact: Artifact, errors: dict[str, float], metric_drop: float | None
) -> tuple[bool | None, str]:
    """Passed (None: cannot tell) and why: an original passes, an artifact with a tolerance
    is held to it, any other to the accuracy target (metrics.accuracy_verdict)."""
    if artifact.reference:
        return True, "original model"
    max_abs = errors["max_abs"]
    tolerance = cfg.evaluate.tolerances.get(artifact.kind)
    if tolerance is not None:
        passed = max_abs <= tolerance
        return passed, f"max abs {max_abs:.2g} {'<=' if passed else '>'} {tolerance:g}"
    return metrics.accuracy_verdict(cfg.model.task, cfg.evaluate, metric_drop, errors["snr_db"])


def judge(
    cfg: Config,
    artifact: Artifact,
    run: CellRun,
    outputs: Tensors | None,
    original: Tensors | None,
    original_quality: dict[str, float],
    targets: np.ndarray | None,
) -> CellResult:
    """Turn one cell's outputs into errors, task metrics and a pass/fail verdict."""
    result = _measured(artifact, run)
    result.passed = False
    if outputs is None:
        result.verdict = f"failed: {run.failure}"
        return result
    if original is None:
        result.verdict = "no original-model outputs to compare with"
        return result
    try:
        by_output = metrics.tensor_errors(outputs, original)
    except ValueError as error:
        result.verdict = str(error)
        return result
    result.errors = by_output.pop("all")
    if len(by_output) > 1:
        result.output_errors = by_output
    result.quality = metrics.task_quality(
        cfg.model.task, tensors.first(outputs), targets, tensors.first(original)
    )
    primary = metrics.PRIMARY_METRIC.get(cfg.model.task)
    if primary in result.quality and primary in original_quality:
        result.metric_drop = original_quality[primary] - result.quality[primary]
    result.passed, result.verdict = _verdict(cfg, artifact, result.errors, result.metric_drop)
    return result
