"""Export the Keras reference: a frozen GraphDef and a SavedModel with stable tensor names."""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import sidecar
from pipelines.config import ModelConfig
from pipelines.errors import PipelineError

log = logging.getLogger(__name__)

SERVE_TAG = "serve"
SIGNATURE = "serving_default"


def _input_spec(keras_model, model: ModelConfig):
    """Batch and (where the network allows) height/width stay dynamic in graphs and SavedModels."""
    import tensorflow as tf

    shape = [None, *keras_model.inputs[0].shape[1:]]
    return tf.TensorSpec(shape, tf.float32, name=model.input_name)


def _shape(shape) -> list[int]:
    return [-1 if d is None else int(d) for d in shape]


def _check_close(name: str, actual: np.ndarray, expected: np.ndarray, atol: float) -> float:
    error = float(np.abs(actual - expected).max())
    if not error <= atol:
        raise PipelineError(
            f"{name} differs from the checkpoint model by {error:.3g} > {atol:g} on the evaluation "
            "inputs (the export is wrong; check custom layers for training-only behaviour)"
        )
    return error


def freeze(
    keras_model, model: ModelConfig, out: Path, inputs: np.ndarray, expected: np.ndarray
) -> dict[str, Any]:
    """Fold the variables into constants and write a GraphDef whose input placeholder is named
    `model.input_name` and whose output is an Identity named `model.output_name`."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = _input_spec(keras_model, model)
    serve = tf.function(
        lambda x: tf.identity(keras_model(x, training=False), name=model.output_name),
        input_signature=[spec],
    )
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    graph_def = frozen.graph.as_graph_def()
    names = {node.name: node.op for node in graph_def.node}
    if names.get(model.input_name) != "Placeholder" or model.output_name not in names:
        raise PipelineError(
            f"the frozen graph lacks the input {model.input_name!r} or output {model.output_name!r} "
            "node (choose names that the network does not already use for other ops)"
        )
    out.write_bytes(graph_def.SerializeToString())
    error = _check_close(
        "the frozen graph",
        load_frozen(out, f"{model.input_name}:0", f"{model.output_name}:0")(
            tf.constant(inputs)
        ).numpy(),
        expected,
        1e-5,
    )
    info = {
        "format": "graphdef",
        "inputs": [
            sidecar.tensor_info(
                model.input_name, f"{model.input_name}:0", "float32", _shape(spec.shape)
            )
        ],
        "outputs": [
            sidecar.tensor_info(
                model.output_name,
                f"{model.output_name}:0",
                "float32",
                _shape(frozen.outputs[0].shape),
            )
        ],
        "nodes": len(graph_def.node),
        "verified_max_abs_error": error,
        "tensorflow": tf.__version__,
    }
    sidecar.write(out, info)
    log.info(
        "frozen graph: %d nodes, %s -> %s, max abs error %.2g",
        len(graph_def.node),
        model.input_name,
        model.output_name,
        error,
    )
    return info


def load_frozen(path: Path, input_node: str, output_node: str) -> Callable:
    """Import a frozen GraphDef as a function from the `input_node` tensor to `output_node`."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(path).read_bytes())
    fn = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    return fn.prune(
        fn.graph.get_tensor_by_name(input_node), fn.graph.get_tensor_by_name(output_node)
    )


def read_signature(savedmodel_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Input and output tensor names ("op:index") of the serving signature, by key."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((savedmodel_dir / "saved_model.pb").read_bytes())
    for meta_graph in proto.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            signature = meta_graph.signature_def[SIGNATURE]
            return (
                {key: t.name for key, t in signature.inputs.items()},
                {key: t.name for key, t in signature.outputs.items()},
            )
    raise PipelineError(f"{savedmodel_dir} has no MetaGraph tagged {SERVE_TAG!r} (re-export it)")


def savedmodel(
    keras_model, model: ModelConfig, out: Path, inputs: np.ndarray, expected: np.ndarray
) -> dict[str, Any]:
    """Write a SavedModel whose `serving_default` signature takes `model.input_name` and
    returns `model.output_name`, then load it back and check it against the checkpoint model."""
    import tensorflow as tf

    spec = _input_spec(keras_model, model)
    module = tf.Module()
    # Track the tf.Variables behind the Keras 3 variables directly: with `module.model = model`
    # the SavedModel loads in Python but the C API fails with "Could not find variable".
    module.variables_ = [v.value for v in keras_model.weights]
    module.serve = tf.function(
        lambda x: {model.output_name: keras_model(x, training=False)}, input_signature=[spec]
    )
    output_shape = module.serve.get_concrete_function().structured_outputs[model.output_name].shape
    tf.saved_model.save(module, str(out), signatures={SIGNATURE: module.serve})
    input_nodes, output_nodes = read_signature(out)
    loaded = tf.saved_model.load(str(out), tags=[SERVE_TAG]).signatures[SIGNATURE]
    actual = np.concatenate(
        [
            loaded(**{model.input_name: tf.constant(inputs[i : i + 32])})[model.output_name].numpy()
            for i in range(0, len(inputs), 32)
        ]
    )
    error = _check_close("the SavedModel", actual, expected, 1e-5)
    info = {
        "format": "savedmodel",
        "tags": [SERVE_TAG],
        "signature": SIGNATURE,
        "inputs": [
            sidecar.tensor_info(
                model.input_name, input_nodes[model.input_name], "float32", _shape(spec.shape)
            )
        ],
        "outputs": [
            sidecar.tensor_info(
                model.output_name, output_nodes[model.output_name], "float32", _shape(output_shape)
            )
        ],
        "verified_max_abs_error": error,
        "verified_samples": len(inputs),
        "tensorflow": tf.__version__,
    }
    sidecar.write(out, info)
    log.info(
        "SavedModel signature %s: %s -> %s, max abs error %.2g",
        SIGNATURE,
        input_nodes,
        output_nodes,
        error,
    )
    return info


def from_checkpoint(
    model: ModelConfig, exporter: Callable[..., dict[str, Any]], out: Path
) -> dict[str, Any]:
    """Restore the Keras reference written by the checkpoint stage and export it with `exporter`
    (freeze or savedmodel), verified against it on the evaluation inputs."""
    from pipelines import data, paths
    from pipelines.backends.keras import loader
    from pipelines.reference import predict_keras

    keras_model = loader.restore(model, paths.TF_CHECKPOINT)
    inputs, _ = data.load_eval(paths.DATASET)
    return exporter(keras_model, model, out, inputs, predict_keras(keras_model, inputs))
