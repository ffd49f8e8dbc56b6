"""Your own arrays become the model's inputs in its own dtype; token ids must be integers."""

import numpy as np
import pytest

from pipelines.config import DataConfig, DataSource
from pipelines.data import arrays
from pipelines.errors import PipelineError
from tests.conftest import token_model

TOKENS = token_model(6)


def _data(tmp_path, values: np.ndarray) -> DataConfig:
    np.save(tmp_path / "x.npy", values)
    return DataConfig(source=DataSource.arrays, eval_inputs=str(tmp_path / "x.npy"))


def test_integer_ids_stay_integers_in_the_model_dtype(tmp_path):
    ids = np.arange(12, dtype=np.int64).reshape(2, 6)
    dataset = arrays.build(_data(tmp_path, ids), TOKENS)
    assert dataset.eval_inputs.dtype == np.int32
    assert (dataset.eval_inputs == ids).all()
    assert dataset.calibration.dtype == np.int32


def test_real_values_for_token_ids_are_refused_naming_the_fix(tmp_path):
    with pytest.raises(PipelineError) as caught:
        arrays.build(_data(tmp_path, np.zeros((2, 6), np.float32)), TOKENS)
    assert str(caught.value) == (
        f"data.eval_inputs={str(tmp_path / 'x.npy')!r} holds float32 values but "
        "model.input_dtype=int32 (save the integer ids with np.save(path, x.astype(np.int32)))"
    )
