"""TensorFlow in Python: a SavedModel's serving signature, or a frozen GraphDef by node names."""

from pathlib import Path
from typing import Any

from pipelines import sidecar
from pipelines.backends.base import InputSpec, OpTime
from pipelines.backends.tf import loader, profile
from pipelines.backends.tf.nodes import nodes
from pipelines.config import InputLayout, ModelConfig
from pipelines.tensors import Tensors


def set_tf_threads(threads: int, bf16: bool = False) -> None:
    """Same session settings as the C++ runner: intra-op = threads, inter-op = 1, and with
    `bf16` Grappler's oneDNN bfloat16 auto-mixed-precision (tf_runner --bf16)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if bf16:
        tf.config.optimizer.set_experimental_options({BF16_REWRITE: True})


# Grappler's rewrite of float32 ops to bfloat16 where oneDNN has bf16 kernels for this CPU
# (AVX-512 BF16 or AMX); the ops it leaves alone stay float32.
BF16_REWRITE = "auto_mixed_precision_onednn_bfloat16"


def tf_input_specs(tensors: list[Any], model: ModelConfig) -> list[InputSpec] | None:
    """The InputSpecs of TF tensors, TensorSpecs or Keras inputs (whose shape is a tuple and
    dtype a string) given in the order of the model's inputs, NHWC for image inputs; None when
    a rank is unknown."""
    specs = []
    for config, tensor in zip(model.input_tensors, tensors, strict=True):
        if getattr(tensor.shape, "rank", 0) is None:
            return None
        dtype = str(getattr(tensor.dtype, "name", tensor.dtype))
        layout = "NHWC" if config.layout is InputLayout.image else ""
        specs.append(InputSpec(config.name, sidecar.dims(tensor.shape), (dtype,), layout))
    return specs


class SavedModelRunner:
    runtime = "tensorflow"
    bf16 = False  # compute in bfloat16 where oneDNN can (BF16_REWRITE)

    def __init__(self, model_path: Path, model: ModelConfig):
        import tensorflow  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model
        self.info = sidecar.read(model_path, sidecar.SavedModel)

    profiler = profile.PROFILER

    def load(self, threads: int) -> None:
        set_tf_threads(threads, self.bf16)
        self.threads = threads
        self.fn = loader.load_savedmodel(self.path, self.info["tags"], self.info["signature"])
        self.output_names = [t["name"] for t in self.info["outputs"]]
        _, signature = self.fn.structured_input_signature
        found = [signature.get(t.name) for t in self.model.input_tensors]
        self.input_specs = None if None in found else tf_input_specs(found, self.model)

    def infer(self, sample: Tensors) -> Tensors:
        import tensorflow as tf

        outputs = self.fn(**{name: tf.constant(a) for name, a in sample.items()})
        return {name: outputs[name].numpy() for name in self.output_names}

    def profile(self, samples: list[Tensors], runs: int) -> list[OpTime]:
        return profile.profile_savedmodel(
            self.path,
            self.info["tags"],
            {t["name"]: t["node"] for t in self.info["inputs"]},
            {t["name"]: t["node"] for t in self.info["outputs"]},
            profile.Inferences(samples, runs, self.threads, self.bf16),
        )


class FrozenGraphRunner:
    runtime = "tensorflow"
    bf16 = False  # compute in bfloat16 where oneDNN can (BF16_REWRITE)

    def __init__(self, model_path: Path, model: ModelConfig):
        import tensorflow  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model
        self.inputs, self.outputs = nodes(model_path)

    profiler = profile.PROFILER

    def load(self, threads: int) -> None:
        set_tf_threads(threads, self.bf16)
        self.threads = threads
        self.fn = loader.load_frozen(
            self.path, list(self.inputs.values()), list(self.outputs.values())
        )
        self.input_specs = tf_input_specs(self.fn.inputs, self.model)

    def infer(self, sample: Tensors) -> Tensors:
        import tensorflow as tf

        outputs = self.fn(*(tf.constant(sample[name]) for name in self.inputs))
        return {name: out.numpy() for name, out in zip(self.outputs, outputs, strict=True)}

    def profile(self, samples: list[Tensors], runs: int) -> list[OpTime]:
        work = profile.Inferences(samples, runs, self.threads, self.bf16)
        return profile.profile_frozen(self.path, self.inputs, self.outputs, work)


class SavedModelBf16Runner(SavedModelRunner):
    bf16 = True


class FrozenGraphBf16Runner(FrozenGraphRunner):
    bf16 = True
