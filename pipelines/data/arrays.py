"""Your own samples: evaluation inputs, optional targets and calibration data, as a .npy file
(a one-input model) or a .npz holding one array per model input name."""

import logging
from pathlib import Path

import numpy as np

from pipelines import tensors
from pipelines.config import DataConfig, ModelConfig, TensorConfig
from pipelines.data import Dataset
from pipelines.errors import PipelineError
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)


def _load(key: str, path: str) -> np.ndarray | Tensors:
    file = Path(path)
    if not file.is_file():
        raise PipelineError(f"data.{key}={path!r} does not exist (point it at a .npy or .npz file)")
    try:
        loaded = np.load(file, allow_pickle=False)
    except ValueError as error:
        raise PipelineError(
            f"data.{key}={path!r} is not a readable .npy or .npz file: {error}"
        ) from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    return loaded


def _as_input(key: str, path: str, array: np.ndarray, spec: TensorConfig, dtype_key: str):
    """`array` in the input's dtype (set by `dtype_key`); integer inputs (token ids) must be
    saved as integers."""
    dtype = np.dtype(spec.dtype.value)
    if dtype.kind in "iu" and array.dtype.kind not in "iub":
        raise PipelineError(
            f"data.{key}={path!r} holds {array.dtype.name} values but {dtype_key}={dtype.name} "
            f"(save the integer ids with np.save(path, x.astype(np.{dtype.name})))"
        )
    return array.astype(dtype)


def _inputs(key: str, path: str, model: ModelConfig) -> Tensors:
    """The model's inputs from a .npy (one input) or a .npz with one array per input name."""
    loaded, specs = _load(key, path), model.input_tensors
    if not isinstance(loaded, dict):
        if len(specs) != 1:
            raise PipelineError(
                f"data.{key}={path!r} is one array but the model takes "
                f"{[s.name for s in specs]} (save them with np.savez(path, name=array, ...))"
            )
        loaded = {specs[0].name: loaded}
    missing = [s.name for s in specs if s.name not in loaded]
    if missing:
        raise PipelineError(
            f"data.{key}={path!r} holds {sorted(loaded)} but not the model inputs {missing} "
            "(save one array per input name with np.savez)"
        )
    dtype_keys = (
        [f"model.inputs[{i}].dtype" for i in range(len(specs))]
        if model.inputs
        else ["model.input_dtype"]
    )
    found = {
        s.name: _as_input(key, path, loaded[s.name], s, dtype_key)
        for s, dtype_key in zip(specs, dtype_keys, strict=True)
    }
    tensors.count(found)  # the same number of samples for every input
    return found


def build(data: DataConfig, model: ModelConfig) -> Dataset:
    assert data.eval_inputs is not None  # checked by the config schema
    evaluation = _inputs("eval_inputs", data.eval_inputs, model)
    inputs = tensors.rows(evaluation, 0, data.eval_samples)
    targets = None
    if data.eval_targets:
        loaded = _load("eval_targets", data.eval_targets)
        if isinstance(loaded, dict):
            raise PipelineError(
                f"data.eval_targets={data.eval_targets!r} must be one .npy array (the targets "
                "of the first output)"
            )
        targets = loaded[: data.eval_samples]
    if data.calibration_inputs:
        calibration = _inputs("calibration_inputs", data.calibration_inputs, model)
    else:
        log.warning("no data.calibration_inputs: int8 modes calibrate on the evaluation inputs")
        calibration = inputs
    return Dataset(None, None, inputs, targets, tensors.rows(calibration, 0, data.calibration_pool))
