"""Bad inputs: each gets one line that names the problem and the fix, and writes nothing."""

import numpy as np
import pytest

from pipelines import data
from pipelines.config import DataSource
from pipelines.errors import PipelineError


@pytest.mark.parametrize(
    ("source", "fix"),
    [
        (DataSource.arrays, "give data.calibration_inputs with more samples"),
        (DataSource.photos, "data.train_patches"),
        (DataSource.digits, "raise data.calibration_pool"),
    ],
)
def test_too_few_calibration_samples_names_the_fix_for_the_source(tmp_path, source, fix):
    samples = np.zeros((4, 8, 8, 3), np.float32)
    data.save(data.Dataset(None, None, samples, None, samples), tmp_path, source)
    with pytest.raises(PipelineError) as error:
        data.load_calibration(tmp_path, 8)
    message = str(error.value)
    assert f"only 4 calibration samples were kept from data.source={source.name}" in message
    assert fix in message
    assert "\n" not in message
