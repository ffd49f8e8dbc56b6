"""Numbers that say whether a deployed model is still the original model."""

import numpy as np

from pipelines.config import EvaluateConfig, Task
from pipelines.tensors import Tensors

# The task metric each task is judged by (tasks without one are judged by error alone).
PRIMARY_METRIC = {Task.super_resolution: "psnr", Task.classification: "accuracy"}


def error_stats(actual: np.ndarray, expected: np.ndarray) -> dict[str, float]:
    """Max/mean abs error, relative error, signal-to-noise ratio (dB), and the smallest
    tolerance that would pass.

    The minimum tolerance is the smallest `atol` (with rtol=0) under which every element of
    `actual` matches `expected`, i.e. the max abs error; `min_rtol` the smallest `rtol` (with
    atol=0), i.e. max |a-e| / |e| over elements where e != 0.
    """
    if actual.shape != expected.shape:
        raise ValueError(f"shape {actual.shape} differs from the reference {expected.shape}")
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    scale = np.abs(expected.astype(np.float64))
    nonzero = scale > 0
    noise = float(np.sum(diff**2))
    signal = float(np.sum(scale**2))
    return {
        "max_abs": float(diff.max(initial=0.0)),
        "mean_abs": float(diff.mean()) if diff.size else 0.0,
        "rel": float(np.linalg.norm(diff)) / max(float(np.linalg.norm(scale)), 1e-30),
        "min_atol": float(diff.max(initial=0.0)),
        "min_rtol": float((diff[nonzero] / scale[nonzero]).max(initial=0.0)),
        # signal-to-noise ratio of the outputs against the reference's, capped at 100 dB
        "snr_db": 100.0 if noise <= signal * 1e-10 else 10.0 * float(np.log10(signal / noise)),
    }


def tensor_errors(actual: Tensors, expected: Tensors) -> dict[str, dict[str, float]]:
    """:func:`error_stats` of each named output, and under "all" of every output together (the
    numbers a verdict uses)."""
    if list(actual) != list(expected):
        raise ValueError(f"outputs {list(actual)} differ from the reference's {list(expected)}")
    found = {name: error_stats(actual[name], expected[name]) for name in expected}
    if len(found) == 1:
        found["all"] = next(iter(found.values()))
    else:
        flat = [
            np.concatenate([t[n].ravel().astype(np.float64) for n in t]) for t in (actual, expected)
        ]
        found["all"] = error_stats(*flat)
    return found


def psnr(images: np.ndarray, references: np.ndarray, peak: float = 1.0) -> float:
    """Mean per-image PSNR in dB, images clipped to [0, peak] first."""
    a = np.clip(images.astype(np.float64), 0.0, peak)
    b = np.clip(references.astype(np.float64), 0.0, peak)
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(peak**2 / mse)
    return float(np.mean(np.minimum(values, 100.0)))


def ssim(images: np.ndarray, references: np.ndarray) -> float:
    """Mean per-image SSIM (scikit-image, Gaussian window) on images clipped to [0, 1]."""
    from skimage.metrics import structural_similarity

    return float(
        np.mean(
            [
                structural_similarity(
                    np.clip(a, 0, 1),
                    np.clip(b, 0, 1),
                    channel_axis=-1,
                    data_range=1.0,
                    gaussian_weights=True,
                    sigma=1.5,
                    use_sample_covariance=False,
                )
                for a, b in zip(images, references, strict=True)
            ]
        )
    )


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy in percent."""
    return float(100.0 * np.mean(np.argmax(logits, axis=-1) == labels))


def agreement(logits: np.ndarray, reference_logits: np.ndarray) -> float:
    """Percent of samples whose top-1 class equals the reference model's."""
    return accuracy(logits, np.argmax(reference_logits, axis=-1))


def task_quality(
    task: Task, outputs: np.ndarray, targets: np.ndarray | None, original: np.ndarray | None = None
) -> dict[str, float]:
    """The task metric against ground truth and, if given, against the original model's outputs
    (empty for a generic task)."""
    found: dict[str, float] = {}
    if task is Task.super_resolution:
        if targets is not None:
            found |= {"psnr": psnr(outputs, targets), "ssim": ssim(outputs, targets)}
        if original is not None:
            found["psnr_vs_original"] = psnr(outputs, original)
    elif task is Task.classification:
        if targets is not None:
            found["accuracy"] = accuracy(outputs, targets)
        if original is not None:
            found["agreement"] = agreement(outputs, original)
    return found


def accuracy_verdict(
    task: Task, evaluate: EvaluateConfig, metric_drop: float | None, snr_db: float
) -> tuple[bool | None, str]:
    """Whether outputs keep the accuracy the config asks for (None: it names no limit), and
    why: the task metric at most evaluate.max_metric_drop below the original's or, without a
    task metric (a generic task, or no targets), an SNR against the original of at least
    evaluate.min_snr_db."""
    if metric_drop is None:
        least = evaluate.min_snr_db
        passed = snr_db >= least
        return passed, f"SNR {snr_db:.1f} dB {'>=' if passed else '<'} {least:g} (no task metric)"
    primary = PRIMARY_METRIC.get(task)
    allowed = evaluate.max_metric_drop.get(task.name)
    if allowed is None:
        return None, f"{primary} drop {metric_drop:.3g} (no evaluate.max_metric_drop.{task.name})"
    passed = metric_drop <= allowed
    return passed, f"{primary} drop {metric_drop:.3g} {'<=' if passed else '>'} {allowed:g}"
