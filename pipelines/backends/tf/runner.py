"""TensorFlow in Python: a SavedModel's serving signature, or a frozen GraphDef by node names."""

from pathlib import Path

import numpy as np

from pipelines import sidecar
from pipelines.backends.tf.export import load_frozen


def set_tf_threads(threads: int) -> None:
    """Same thread settings as the C++ runner: intra-op = threads, inter-op = 1."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


class _TensorFlowRunner:
    runtime = "tensorflow"

    def __init__(self, model_path: Path, model=None):
        import tensorflow  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path = model_path
        self.info = sidecar.read(model_path)


class SavedModelRunner(_TensorFlowRunner):
    def load(self, threads: int) -> None:
        import tensorflow as tf

        set_tf_threads(threads)
        self.loaded = tf.saved_model.load(str(self.path), tags=self.info["tags"])
        self.fn = self.loaded.signatures[self.info["signature"]]
        self.input_name = self.info["inputs"][0]["name"]
        self.output_name = self.info["outputs"][0]["name"]

    def infer(self, sample: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        return self.fn(**{self.input_name: tf.constant(sample)})[self.output_name].numpy()


class FrozenGraphRunner(_TensorFlowRunner):
    def load(self, threads: int) -> None:
        set_tf_threads(threads)
        self.fn = load_frozen(
            self.path, self.info["inputs"][0]["node"], self.info["outputs"][0]["node"]
        )

    def infer(self, sample: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        return self.fn(tf.constant(sample)).numpy()
