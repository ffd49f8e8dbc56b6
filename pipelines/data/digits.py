"""Classification samples from scikit-learn's bundled 8x8 digits."""

import numpy as np

from pipelines.config import DataConfig, DataSource, ModelConfig
from pipelines.data import Dataset, one_input
from pipelines.data.held_out import hashed


def build(data: DataConfig, model: ModelConfig) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    labels = digits.target.astype(np.int64)
    train_x, test_x, train_y, test_y, train_i, test_i = train_test_split(
        images,
        labels,
        np.arange(len(images)),
        test_size=data.test_fraction,
        random_state=data.seed,
        stratify=labels,
    )
    test_i = test_i[: data.eval_samples]
    return Dataset(
        train_inputs=train_x,
        train_targets=train_y,
        eval_inputs=one_input(model, DataSource.digits, test_x[: data.eval_samples]),
        eval_targets=test_y[: data.eval_samples],
        calibration=one_input(model, DataSource.digits, train_x[: data.calibration_pool]),
        train_sources=hashed((f"digit {i}", images[i]) for i in train_i),
        eval_sources=hashed((f"digit {i}", images[i]) for i in test_i),
    )
