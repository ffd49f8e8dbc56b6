"""The original TF model: the Keras network restored from the checkpoint (the TF reference),
called inside a `tf.function` as a Python service would run it (eager calls cost many times
the graph's time on small networks: 120 ms against 3 ms for a small MobileNetV2)."""

from pathlib import Path

from pipelines import tensors
from pipelines.backends.keras.loader import call_args
from pipelines.backends.tf.runner import set_tf_threads, tf_input_specs
from pipelines.config import ModelConfig
from pipelines.tensors import Tensors


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
        count = len(self.model.input_tensors)
        self.input_specs = (
            tf_input_specs(inputs, self.model) if inputs and len(inputs) == count else None
        )

    def infer(self, sample: Tensors) -> Tensors:
        return tensors.named(self.model.output_names, self.forward(call_args(self.model, sample)))
