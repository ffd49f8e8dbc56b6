"""The original TF model: the Keras network restored from the checkpoint (the TF reference)."""

from pathlib import Path

import numpy as np

from pipelines.backends.tf.runner import set_tf_threads
from pipelines.config import ModelConfig


class KerasRunner:
    runtime = "keras"

    def __init__(self, model_path: Path, model: ModelConfig):
        import tensorflow  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model

    def load(self, threads: int) -> None:
        from pipelines.backends.keras import loader

        set_tf_threads(threads)
        self.network = loader.restore(self.model, self.path)

    def infer(self, sample: np.ndarray) -> np.ndarray:
        return np.asarray(self.network(sample, training=False))
