"""Training is repeatable: the same config builds and trains the same weights, bit for bit."""

import numpy as np
import pytest

from pipelines.config import BuilderConfig, Framework, ModelConfig, Task, TrainConfig
from pipelines.models.builder import build_network
from pipelines.train import fit_keras, fit_torch

TRAIN = TrainConfig(epochs=2, batch_size=8, seed=3)


def user_model() -> ModelConfig:
    """The small network of tests/user_model.py in both frameworks."""
    return ModelConfig(
        name="user",
        task=Task.generic,
        input_shape=[1, 8, 8, 3],
        keras=BuilderConfig("tests.user_model.build_keras"),
        torch=BuilderConfig("tests.user_model.UserNet"),
        train=TRAIN,
    )


def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    inputs = rng.random((24, 8, 8, 3), dtype=np.float32)
    return inputs, inputs[..., ::-1].copy()


def trained_keras_weights() -> list[np.ndarray]:
    network = build_network(user_model(), Framework.tf)
    fit_keras(network, *samples(), Task.generic, TRAIN)
    return network.get_weights()


def trained_torch_weights() -> list[np.ndarray]:
    module = build_network(user_model(), Framework.torch)
    fit_torch(module, *samples(), Task.generic, TRAIN)
    return [tensor.numpy() for tensor in module.state_dict().values()]


@pytest.mark.parametrize("train", [trained_keras_weights, trained_torch_weights])
def test_two_trainings_give_the_same_bytes(train):
    first, second = train(), train()
    assert [w.tobytes() for w in first] == [w.tobytes() for w in second]


def test_the_seed_decides_the_initial_weights():
    def initial(seed: int) -> bytes:
        model = user_model()
        model.train = TrainConfig(seed=seed)
        module = build_network(model, Framework.torch)
        return b"".join(t.numpy().tobytes() for t in module.state_dict().values())

    assert initial(0) == initial(0) != initial(1)
