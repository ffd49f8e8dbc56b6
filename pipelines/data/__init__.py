"""Training, calibration and held-out evaluation samples for the reference models.

Inputs are named tensors (pipelines.tensors), one array per model input with a leading sample
axis, then that input's shape[1:] (an image: NHWC) in its dtype; targets are images
(super-resolution) or integer labels (classification), or absent for your own arrays without
targets.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines import tensors
from pipelines.config import DataConfig, DataSource, ModelConfig
from pipelines.data.held_out import Sources, refuse_shared
from pipelines.errors import PipelineError
from pipelines.tensors import Tensors

EVAL_INPUTS = "eval_inputs.npz"
EVAL_TARGETS = "eval_targets.npy"
CALIBRATION = "calibration.npz"
INFO = "info.json"
HELD_OUT = "held_out.json"


@dataclass
class Dataset:
    train_inputs: np.ndarray | None  # training feeds a one-input network
    train_targets: np.ndarray | None
    eval_inputs: Tensors
    eval_targets: np.ndarray | None
    calibration: Tensors
    # what was trained on and what is evaluated, by content hash (see data/held_out.py)
    train_sources: Sources = field(default_factory=dict)
    eval_sources: Sources = field(default_factory=dict)


# The settings that decide which sources end up on each side, named when they overlap.
SPLIT_KEYS = {
    DataSource.photos: "data.train_images and data.eval_images",
    DataSource.digits: "data.seed and data.test_fraction",
    DataSource.arrays: "data.eval_inputs and the training data",
}


def one_input(model: ModelConfig, source: DataSource, array: np.ndarray) -> Tensors:
    """`array` as the inputs of a one-input model; a bundled source cannot feed several."""
    specs = model.input_tensors
    if len(specs) != 1:
        raise PipelineError(
            f"data.source={source.name} feeds one input but model.inputs lists {len(specs)} "
            "(use data.source=arrays with one .npz holding an array per input name)"
        )
    return {specs[0].name: array}


def build(data: DataConfig, model: ModelConfig) -> Dataset:
    """Assemble the samples for `model` from the configured source."""
    from pipelines.data import arrays, digits, photos

    builders = {
        DataSource.photos: photos.build,
        DataSource.digits: digits.build,
        DataSource.arrays: arrays.build,
    }
    dataset = builders[data.source](data, model)
    refuse_shared(dataset.train_sources, dataset.eval_sources, SPLIT_KEYS[data.source])
    for spec in model.input_tensors:
        got, expected = tuple(dataset.eval_inputs[spec.name].shape[1:]), tuple(spec.shape[1:])
        if got != expected:
            key = f"the shape of model input {spec.name!r}" if model.inputs else "model.input_shape"
            raise PipelineError(
                f"evaluation inputs {spec.name!r} have shape {got} per sample but {key} "
                f"says {expected} (make them agree)"
            )
    return dataset


def save(dataset: Dataset, directory: Path, source: DataSource) -> None:
    """Write what later stages need: evaluation inputs/targets and calibration samples."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors.save(dataset.eval_inputs, directory / EVAL_INPUTS)
    tensors.save(dataset.calibration, directory / CALIBRATION)
    if dataset.eval_targets is not None:
        np.save(directory / EVAL_TARGETS, dataset.eval_targets)
    info = {
        "source": source.name,
        "eval_samples": tensors.count(dataset.eval_inputs),
        "eval_input_shapes": {k: list(v.shape[1:]) for k, v in dataset.eval_inputs.items()},
        "eval_targets": dataset.eval_targets is not None,
        "calibration_samples": tensors.count(dataset.calibration),
    }
    (directory / INFO).write_text(json.dumps(info, indent=2) + "\n")
    held_out = {"train": dataset.train_sources, "eval": dataset.eval_sources}
    (directory / HELD_OUT).write_text(json.dumps(held_out, indent=1) + "\n")


def _for_model(samples: Tensors, model: ModelConfig, directory: Path) -> Tensors:
    """`samples` in the model's input order; refused if they are another model's inputs."""
    names = [t.name for t in model.input_tensors]
    if sorted(samples) != sorted(names):
        raise PipelineError(
            f"{directory} holds the inputs {sorted(samples)} but the model takes {names} "
            "(the checkpoint stage writes them: run dvc repro)"
        )
    return {name: samples[name] for name in names}


def load_eval(directory: Path, model: ModelConfig) -> tuple[Tensors, np.ndarray | None]:
    """Evaluation inputs and (if present) targets written by :func:`save`."""
    inputs = _for_model(tensors.load(directory / EVAL_INPUTS), model, directory)
    targets_path = directory / EVAL_TARGETS
    return inputs, (np.load(targets_path) if targets_path.exists() else None)


# How to get more calibration samples from each source (what limits them differs).
MORE_CALIBRATION = {
    DataSource.photos: "raise data.calibration_pool (crops cut from data.train_images)",
    DataSource.digits: "raise data.calibration_pool (at most the training split of the digits)",
    DataSource.arrays: "give data.calibration_inputs with more samples (without it, the "
    "evaluation inputs are used), and raise data.calibration_pool if it is lower",
}


def load_calibration(directory: Path, count: int, model: ModelConfig) -> Tensors:
    """The first `count` calibration samples; fails, naming the fix for the data source in use,
    if fewer were kept."""
    samples = _for_model(tensors.load(directory / CALIBRATION), model, directory)
    kept = tensors.count(samples)
    if kept < count:
        source = DataSource[json.loads((directory / INFO).read_text())["source"]]
        raise PipelineError(
            f"quantize.calibration_samples={count} but only {kept} calibration "
            f"samples were kept from data.source={source.name} (lower it, or "
            f"{MORE_CALIBRATION[source]})"
        )
    return tensors.rows(samples, 0, count)
