"""Training, calibration and held-out evaluation samples for the reference models.

Every input array has a leading sample axis, then model.input_shape[1:] (an image: NHWC) in
model.input_dtype; targets are images (super-resolution) or integer labels (classification), or
absent for your own arrays without targets.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.config import DataConfig, DataSource, ModelConfig
from pipelines.errors import PipelineError

EVAL_INPUTS = "eval_inputs.npy"
EVAL_TARGETS = "eval_targets.npy"
CALIBRATION = "calibration.npy"
INFO = "info.json"


@dataclass
class Dataset:
    train_inputs: np.ndarray | None
    train_targets: np.ndarray | None
    eval_inputs: np.ndarray
    eval_targets: np.ndarray | None
    calibration: np.ndarray


def build(data: DataConfig, model: ModelConfig) -> Dataset:
    """Assemble the samples for `model` from the configured source."""
    from pipelines.data import arrays, digits, photos

    builders = {
        DataSource.photos: photos.build,
        DataSource.digits: digits.build,
        DataSource.arrays: arrays.build,
    }
    dataset = builders[data.source](data, model)
    expected = tuple(model.input_shape[1:])
    if tuple(dataset.eval_inputs.shape[1:]) != expected:
        raise PipelineError(
            f"evaluation inputs have shape {dataset.eval_inputs.shape[1:]} per sample but "
            f"model.input_shape says {expected} (make them agree)"
        )
    return dataset


def save(dataset: Dataset, directory: Path, source: DataSource) -> None:
    """Write what later stages need: evaluation inputs/targets and calibration samples."""
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / EVAL_INPUTS, dataset.eval_inputs)
    np.save(directory / CALIBRATION, dataset.calibration)
    if dataset.eval_targets is not None:
        np.save(directory / EVAL_TARGETS, dataset.eval_targets)
    info = {
        "source": source.name,
        "eval_samples": int(dataset.eval_inputs.shape[0]),
        "eval_input_shape": list(dataset.eval_inputs.shape[1:]),
        "eval_targets": dataset.eval_targets is not None,
        "calibration_samples": int(dataset.calibration.shape[0]),
    }
    (directory / INFO).write_text(json.dumps(info, indent=2) + "\n")


def load_eval(directory: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Evaluation inputs and (if present) targets written by :func:`save`."""
    inputs = np.load(directory / EVAL_INPUTS)
    targets_path = directory / EVAL_TARGETS
    return inputs, (np.load(targets_path) if targets_path.exists() else None)


# How to get more calibration samples from each source (what limits them differs).
MORE_CALIBRATION = {
    DataSource.photos: "raise data.calibration_pool, and data.train_patches it is drawn from",
    DataSource.digits: "raise data.calibration_pool (at most the training split of the digits)",
    DataSource.arrays: "give data.calibration_inputs with more samples (without it, the "
    "evaluation inputs are used), and raise data.calibration_pool if it is lower",
}


def load_calibration(directory: Path, count: int) -> np.ndarray:
    """The first `count` calibration samples; fails, naming the fix for the data source in use,
    if fewer were kept."""
    samples = np.load(directory / CALIBRATION)
    if samples.shape[0] < count:
        source = DataSource[json.loads((directory / INFO).read_text())["source"]]
        raise PipelineError(
            f"quantize.calibration_samples={count} but only {samples.shape[0]} calibration "
            f"samples were kept from data.source={source.name} (lower it, or "
            f"{MORE_CALIBRATION[source]})"
        )
    return samples[:count]
