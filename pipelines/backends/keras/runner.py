"""The original TF model: the Keras network restored from the checkpoint (the TF reference)."""

from pathlib import Path

import numpy as np

from pipelines.backends.tf.runner import set_tf_threads, tf_input_spec
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
        inputs = getattr(self.network, "inputs", None)  # a subclassed model may have none
        self.input_spec = tf_input_spec(self.model.input_name, inputs[0]) if inputs else None

    def infer(self, sample: np.ndarray) -> np.ndarray:
        return np.asarray(self.network(sample, training=False))
