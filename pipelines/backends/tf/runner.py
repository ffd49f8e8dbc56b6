"""TensorFlow in Python: a SavedModel's serving signature, or a frozen GraphDef by node names."""

from pathlib import Path
from typing import Any

import numpy as np

from pipelines import sidecar
from pipelines.backends.base import InputSpec
from pipelines.backends.tf import loader
from pipelines.backends.tf.nodes import nodes
from pipelines.config import ModelConfig


def set_tf_threads(threads: int) -> None:
    """Same thread settings as the C++ runner: intra-op = threads, inter-op = 1."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def tf_input_spec(name: str, tensor: Any, model: ModelConfig) -> InputSpec | None:
    """The InputSpec of a TF tensor, TensorSpec or Keras input (whose shape is a tuple and
    dtype a string), NHWC for an image model; None when its rank is unknown."""
    if getattr(tensor.shape, "rank", 0) is None:
        return None
    dtype = getattr(tensor.dtype, "name", tensor.dtype)
    layout = "NHWC" if model.is_image else ""
    return InputSpec(name, sidecar.dims(tensor.shape), (str(dtype),), layout)


class SavedModelRunner:
    runtime = "tensorflow"

    def __init__(self, model_path: Path, model: ModelConfig):
        import tensorflow  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model
        self.info = sidecar.read(model_path, sidecar.SavedModel)

    def load(self, threads: int) -> None:
        set_tf_threads(threads)
        self.fn = loader.load_savedmodel(self.path, self.info["tags"], self.info["signature"])
        self.input_name = self.info["inputs"][0]["name"]
        self.output_name = self.info["outputs"][0]["name"]
        _, inputs = self.fn.structured_input_signature
        spec = inputs.get(self.input_name)
        self.input_spec = None if spec is None else tf_input_spec(self.input_name, spec, self.model)

    def infer(self, sample: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        return self.fn(**{self.input_name: tf.constant(sample)})[self.output_name].numpy()


class FrozenGraphRunner:
    runtime = "tensorflow"

    def __init__(self, model_path: Path, model: ModelConfig):
        import tensorflow  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model
        self.nodes = nodes(model_path)

    def load(self, threads: int) -> None:
        set_tf_threads(threads)
        self.fn = loader.load_frozen(self.path, *self.nodes)
        self.input_spec = tf_input_spec(self.nodes[0], self.fn.inputs[0], self.model)

    def infer(self, sample: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        return self.fn(tf.constant(sample)).numpy()
