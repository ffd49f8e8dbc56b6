"""The original TF model: the Keras network restored from the checkpoint (the TF reference),
called inside a `tf.function` as a Python service would run it (eager calls cost many times
the graph's time on small networks: 120 ms against 3 ms for a small MobileNetV2)."""

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
        import tensorflow as tf

        from pipelines.backends.keras import loader

        set_tf_threads(threads)
        network = loader.restore(self.model, self.path)
        self.forward = tf.function(lambda x: network(x, training=False), reduce_retracing=True)
        inputs = getattr(network, "inputs", None)  # a subclassed model may have none
        self.input_spec = (
            tf_input_spec(self.model.input_name, inputs[0], self.model) if inputs else None
        )

    def infer(self, sample: np.ndarray) -> np.ndarray:
        return self.forward(sample).numpy()
