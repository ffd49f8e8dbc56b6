"""Export the Keras reference: a frozen GraphDef and a SavedModel with stable tensor names.

Each exporter writes its artifact, loads it back, checks it against the reference outputs it is
given, and returns the artifact's sidecar.
"""

import hashlib
import logging
from pathlib import Path

from pipelines import metrics, sidecar, tensors
from pipelines.backends.tf.loader import (
    SERVE_TAG,
    SIGNATURE,
    load_frozen,
    load_savedmodel,
    run_signature,
)
from pipelines.config import ModelConfig
from pipelines.errors import PipelineError
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)

ATOL = 1e-5  # an export must reproduce the checkpoint model to this max abs error


def _input_specs(keras_model, model: ModelConfig) -> list:
    """One TensorSpec per input, named as configured: batch and (where the network allows)
    height/width stay dynamic in graphs and SavedModels."""
    import tensorflow as tf

    return [
        tf.TensorSpec([None, *keras_input.shape[1:]], tf.as_dtype(t.dtype.value), name=t.name)
        for t, keras_input in zip(model.input_tensors, keras_model.inputs, strict=True)
    ]


def _serving(keras_model, model: ModelConfig, specs: list, wrap):
    """A tf.function over `specs` returning `wrap(name, output)` for each named output."""
    import tensorflow as tf

    from pipelines.backends.keras.loader import call_args

    def serve(*args):
        inputs = dict(zip((t.name for t in model.input_tensors), args, strict=True))
        called = keras_model(call_args(model, inputs), training=False)
        outputs = tensors.named(model.output_names, called, convert=lambda out: out)
        return {name: wrap(name, out) for name, out in outputs.items()}

    return tf.function(serve, input_signature=specs)


def _check_close(name: str, actual: Tensors, expected: Tensors) -> float:
    error = metrics.tensor_errors(actual, expected)["all"]["max_abs"]
    if not error <= ATOL:
        raise PipelineError(
            f"{name} differs from the checkpoint model by {error:.3g} > {ATOL:g} on the evaluation "
            "inputs (the export is wrong; check custom layers for training-only behaviour)"
        )
    return error


def _graph_tensor(name: str, node: str, dtype, shape) -> sidecar.GraphTensor:
    """A sidecar entry for a graph tensor of TF dtype `dtype`."""
    return sidecar.GraphTensor(name=name, node=node, dtype=dtype.name, shape=sidecar.dims(shape))


def _frozen_graph_def(keras_model, model: ModelConfig, specs: list):
    """The serving function with variables folded into constants, its GraphDef checked to hold
    an input placeholder and an output Identity named as each configured input and output,
    and the (symbolic) outputs by name."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    serve = _serving(keras_model, model, specs, lambda name, out: tf.identity(out, name=name))
    concrete = serve.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    ops = {node.name: node.op for node in graph_def.node}
    missing = [t.name for t in model.input_tensors if ops.get(t.name) != "Placeholder"]
    missing += [name for name in model.output_names if name not in ops]
    if missing:
        raise PipelineError(
            f"the frozen graph lacks the input or output nodes {missing} (choose names that the "
            "network does not already use for other ops)"
        )
    return graph_def, concrete.structured_outputs


def freeze(
    keras_model, model: ModelConfig, out: Path, inputs: Tensors, expected: Tensors
) -> sidecar.FrozenGraph:
    """Write a frozen GraphDef whose input placeholders and output Identities are named as the
    model's inputs and outputs, verified against `expected`."""
    import tensorflow as tf

    specs = _input_specs(keras_model, model)
    graph_def, by_name = _frozen_graph_def(keras_model, model, specs)
    # deterministic: protobuf map fields (node attributes) otherwise serialize in varying order
    out.write_bytes(graph_def.SerializeToString(deterministic=True))
    input_nodes = {t.name: f"{t.name}:0" for t in model.input_tensors}
    output_nodes = {name: f"{name}:0" for name in model.output_names}
    reloaded = load_frozen(out, list(input_nodes.values()), list(output_nodes.values()))
    actual = reloaded(*(tf.constant(inputs[name]) for name in input_nodes))
    found = {name: a.numpy() for name, a in zip(output_nodes, actual, strict=True)}
    error = _check_close("the frozen graph", found, expected)
    log.info(
        "frozen graph: %d nodes, %s -> %s, max abs error %.2g",
        len(graph_def.node),
        list(input_nodes),
        list(output_nodes),
        error,
    )
    return sidecar.FrozenGraph(
        format="graphdef",
        inputs=[
            _graph_tensor(spec.name, input_nodes[spec.name], spec.dtype, spec.shape)
            for spec in specs
        ],
        outputs=[
            _graph_tensor(name, node, by_name[name].dtype, by_name[name].shape)
            for name, node in output_nodes.items()
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
    """Save a module whose `serving_default` signature maps the named inputs to the named
    outputs; return the signature's input specs and its (symbolic) outputs by name."""
    import tensorflow as tf

    specs = _input_specs(keras_model, model)
    module = tf.Module()
    # Track the tf.Variables behind the Keras 3 variables directly: with `module.model = model`
    # the SavedModel loads in Python but the C API fails with "Could not find variable".
    module.variables_ = [v.value for v in keras_model.weights]
    module.serve = _serving(keras_model, model, specs, lambda name, out: out)
    outputs = module.serve.get_concrete_function().structured_outputs
    tf.saved_model.save(module, str(out), signatures={SIGNATURE: module.serve})
    _derive_fingerprint_uuid(out)
    return specs, outputs


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
    keras_model, model: ModelConfig, out: Path, inputs: Tensors, expected: Tensors
) -> sidecar.SavedModel:
    """Write a SavedModel whose `serving_default` signature takes the model's named inputs and
    returns its named outputs, then load it back and check it against `expected`."""
    import tensorflow as tf

    specs, outputs = _save_serving_module(keras_model, model, out)
    input_nodes, output_nodes = read_signature(out)
    loaded = load_savedmodel(out, [SERVE_TAG], SIGNATURE)
    actual = run_signature(loaded, inputs, model.output_names)
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
        inputs=[_graph_tensor(s.name, input_nodes[s.name], s.dtype, s.shape) for s in specs],
        outputs=[
            _graph_tensor(name, output_nodes[name], outputs[name].dtype, outputs[name].shape)
            for name in model.output_names
        ],
        verified_max_abs_error=error,
        verified_samples=tensors.count(inputs),
        tensorflow=tf.__version__,
    )
