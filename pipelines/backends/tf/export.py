"""Export the Keras reference: a frozen GraphDef and a SavedModel with stable tensor names.

Each exporter writes its artifact, loads it back, checks it against the reference outputs it is
given, and returns the artifact's sidecar.
"""

import hashlib
import logging
from pathlib import Path

import numpy as np

from pipelines import sidecar
from pipelines.backends.tf.loader import SERVE_TAG, SIGNATURE, load_frozen, load_savedmodel
from pipelines.config import ModelConfig
from pipelines.errors import PipelineError

log = logging.getLogger(__name__)

ATOL = 1e-5  # an export must reproduce the checkpoint model to this max abs error


def _input_spec(keras_model, model: ModelConfig):
    """Batch and (where the network allows) height/width stay dynamic in graphs and SavedModels."""
    import tensorflow as tf

    shape = [None, *keras_model.inputs[0].shape[1:]]
    return tf.TensorSpec(shape, tf.as_dtype(model.input_dtype.value), name=model.input_name)


def _check_close(name: str, actual: np.ndarray, expected: np.ndarray) -> float:
    error = float(np.abs(actual - expected).max())
    if not error <= ATOL:
        raise PipelineError(
            f"{name} differs from the checkpoint model by {error:.3g} > {ATOL:g} on the evaluation "
            "inputs (the export is wrong; check custom layers for training-only behaviour)"
        )
    return error


def _graph_tensor(name: str, node: str, dtype, shape) -> sidecar.GraphTensor:
    """A sidecar entry for a graph tensor of TF dtype `dtype`."""
    return sidecar.GraphTensor(name=name, node=node, dtype=dtype.name, shape=sidecar.dims(shape))


def _frozen_graph_def(keras_model, model: ModelConfig, spec):
    """The serving function with variables folded into constants, its GraphDef checked to hold
    the input placeholder `model.input_name` and the output Identity `model.output_name`."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

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
    return frozen, graph_def


def freeze(
    keras_model, model: ModelConfig, out: Path, inputs: np.ndarray, expected: np.ndarray
) -> sidecar.FrozenGraph:
    """Write a frozen GraphDef whose input placeholder is named `model.input_name` and whose
    output is an Identity named `model.output_name`, verified against `expected`."""
    import tensorflow as tf

    spec = _input_spec(keras_model, model)
    frozen, graph_def = _frozen_graph_def(keras_model, model, spec)
    # deterministic: protobuf map fields (node attributes) otherwise serialize in varying order
    out.write_bytes(graph_def.SerializeToString(deterministic=True))
    input_node, output_node = f"{model.input_name}:0", f"{model.output_name}:0"
    reloaded = load_frozen(out, input_node, output_node)
    error = _check_close("the frozen graph", reloaded(tf.constant(inputs)).numpy(), expected)
    log.info(
        "frozen graph: %d nodes, %s -> %s, max abs error %.2g",
        len(graph_def.node),
        model.input_name,
        model.output_name,
        error,
    )
    return sidecar.FrozenGraph(
        format="graphdef",
        inputs=[_graph_tensor(model.input_name, input_node, spec.dtype, spec.shape)],
        outputs=[
            _graph_tensor(
                model.output_name, output_node, frozen.outputs[0].dtype, frozen.outputs[0].shape
            )
        ],
        nodes=len(graph_def.node),
        verified_max_abs_error=error,
        tensorflow=tf.__version__,
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


def _save_serving_module(keras_model, model: ModelConfig, out: Path):
    """Save a module whose `serving_default` signature maps `model.input_name` to
    `model.output_name`; return the signature's input spec and its (symbolic) output."""
    import tensorflow as tf

    spec = _input_spec(keras_model, model)
    module = tf.Module()
    # Track the tf.Variables behind the Keras 3 variables directly: with `module.model = model`
    # the SavedModel loads in Python but the C API fails with "Could not find variable".
    module.variables_ = [v.value for v in keras_model.weights]
    module.serve = tf.function(
        lambda x: {model.output_name: keras_model(x, training=False)}, input_signature=[spec]
    )
    output = module.serve.get_concrete_function().structured_outputs[model.output_name]
    tf.saved_model.save(module, str(out), signatures={SIGNATURE: module.serve})
    _derive_fingerprint_uuid(out)
    return spec, output


def _derive_fingerprint_uuid(savedmodel_dir: Path) -> None:
    """Replace the random uuid TensorFlow writes into fingerprint.pb with one derived from the
    fingerprint's content hashes, so the same model always gives the same bytes."""
    from tensorflow.core.protobuf import fingerprint_pb2

    path = savedmodel_dir / "fingerprint.pb"
    if not path.is_file():
        return
    fingerprint = fingerprint_pb2.FingerprintDef.FromString(path.read_bytes())
    fingerprint.uuid = ""
    digest = hashlib.sha256(fingerprint.SerializeToString(deterministic=True)).hexdigest()
    fingerprint.uuid = str(int(digest[:32], 16))
    path.write_bytes(fingerprint.SerializeToString(deterministic=True))


def savedmodel(
    keras_model, model: ModelConfig, out: Path, inputs: np.ndarray, expected: np.ndarray
) -> sidecar.SavedModel:
    """Write a SavedModel whose `serving_default` signature takes `model.input_name` and
    returns `model.output_name`, then load it back and check it against `expected`."""
    import tensorflow as tf

    spec, output = _save_serving_module(keras_model, model, out)
    input_nodes, output_nodes = read_signature(out)
    loaded = load_savedmodel(out, [SERVE_TAG], SIGNATURE)
    actual = np.concatenate(
        [
            loaded(**{model.input_name: tf.constant(inputs[i : i + 32])})[model.output_name].numpy()
            for i in range(0, len(inputs), 32)
        ]
    )
    error = _check_close("the SavedModel", actual, expected)
    log.info(
        "SavedModel signature %s: %s -> %s, max abs error %.2g",
        SIGNATURE,
        input_nodes,
        output_nodes,
        error,
    )
    return sidecar.SavedModel(
        format="savedmodel",
        tags=[SERVE_TAG],
        signature=SIGNATURE,
        inputs=[
            _graph_tensor(model.input_name, input_nodes[model.input_name], spec.dtype, spec.shape)
        ],
        outputs=[
            _graph_tensor(
                model.output_name, output_nodes[model.output_name], output.dtype, output.shape
            )
        ],
        verified_max_abs_error=error,
        verified_samples=len(inputs),
        tensorflow=tf.__version__,
    )
