"""The bundled networks' Keras and PyTorch twins compute the same function once weights are shared."""

import numpy as np
import pytest

from pipelines.errors import PipelineError
from pipelines.models import keras_nets, port, torch_nets


@pytest.mark.parametrize(
    ("keras_builder", "torch_class", "kwargs", "shape"),
    [
        (
            keras_nets.super_resolution,
            torch_nets.SuperResolution,
            {"width": 16, "blocks": 2},
            (2, 12, 20, 3),
        ),
        (keras_nets.digits_classifier, torch_nets.DigitsClassifier, {"width": 8}, (3, 8, 8, 1)),
    ],
)
def test_ported_weights_give_the_same_outputs(keras_builder, torch_class, kwargs, shape):
    import torch

    keras_model = keras_builder(**kwargs)
    module = torch_class(**kwargs).eval()
    assert port.keras_to_torch(keras_model, module) > 0
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    expected = np.asarray(keras_model(x))
    with torch.no_grad():
        actual = module(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    if actual.ndim == 4:
        actual = actual.transpose(0, 2, 3, 1)
    assert np.abs(actual - expected).max() < 1e-5


def test_port_refuses_networks_that_do_not_match():
    with pytest.raises(PipelineError, match="share_weights=false"):
        port.keras_to_torch(
            keras_nets.super_resolution(width=16, blocks=2),
            torch_nets.SuperResolution(width=16, blocks=3),
        )
