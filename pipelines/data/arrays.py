"""Your own samples, as .npy files: evaluation inputs, optional targets and calibration data."""

import logging
from pathlib import Path

import numpy as np

from pipelines.config import DataConfig, ModelConfig
from pipelines.data import Dataset
from pipelines.errors import PipelineError

log = logging.getLogger(__name__)


def _load(key: str, path: str) -> np.ndarray:
    file = Path(path)
    if not file.is_file():
        raise PipelineError(f"data.{key}={path!r} does not exist (point it at a .npy file)")
    try:
        return np.load(file, allow_pickle=False)
    except ValueError as error:
        raise PipelineError(f"data.{key}={path!r} is not a readable .npy file: {error}") from None


def _as_input(key: str, path: str, array: np.ndarray, model: ModelConfig) -> np.ndarray:
    """`array` in the model's input dtype; integer inputs (token ids) must be saved as integers."""
    dtype = np.dtype(model.input_dtype.value)
    if dtype.kind in "iu" and array.dtype.kind not in "iub":
        raise PipelineError(
            f"data.{key}={path!r} holds {array.dtype.name} values but model.input_dtype="
            f"{dtype.name} (save the integer ids with np.save(path, x.astype(np.{dtype.name})))"
        )
    return array.astype(dtype)


def build(data: DataConfig, model: ModelConfig) -> Dataset:
    assert data.eval_inputs is not None  # checked by the config schema
    raw = _load("eval_inputs", data.eval_inputs)
    inputs = _as_input("eval_inputs", data.eval_inputs, raw, model)[: data.eval_samples]
    targets = (
        _load("eval_targets", data.eval_targets)[: data.eval_samples] if data.eval_targets else None
    )
    if data.calibration_inputs:
        raw = _load("calibration_inputs", data.calibration_inputs)
        calibration = _as_input("calibration_inputs", data.calibration_inputs, raw, model)
    else:
        log.warning("no data.calibration_inputs: int8 modes calibrate on the evaluation inputs")
        calibration = inputs
    return Dataset(None, None, inputs, targets, calibration[: data.calibration_pool])
