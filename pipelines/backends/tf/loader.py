"""Load TF artifacts for inference: a frozen GraphDef by node names, a SavedModel by signature."""

from pathlib import Path
from typing import Any

from pipelines import tensors
from pipelines.errors import PipelineError, first_sentence
from pipelines.tensors import Tensors

SERVE_TAG = "serve"
SIGNATURE = "serving_default"


def load_frozen_graph_def(path: Path) -> Any:
    """The GraphDef in the file `path`; a file that is not one is a PipelineError."""
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(Path(path).read_bytes())
    except DecodeError as error:
        raise PipelineError(
            f"{path} is not a frozen GraphDef: {first_sentence(str(error))} (rebuild it with the "
            "freeze stage, or give a .pb written by tf.io.write_graph(..., as_text=False))"
        ) from error
    return graph_def


def load_frozen(path: Path, input_nodes: list[str], output_nodes: list[str]) -> Any:
    """Import a frozen GraphDef as a function (a ConcreteFunction) from the `input_nodes`
    tensors (positional arguments, in order) to the list of `output_nodes` tensors."""
    import tensorflow as tf

    graph_def = load_frozen_graph_def(path)
    fn = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    return fn.prune(
        [_tensor(fn.graph, node, path) for node in input_nodes],
        [_tensor(fn.graph, node, path) for node in output_nodes],
    )


def _tensor(graph: Any, node: str, path: Path) -> Any:
    """The tensor `node` ("op:index") of `graph`, or a PipelineError naming the graph."""
    try:
        return graph.get_tensor_by_name(node)
    except (KeyError, ValueError) as error:
        raise PipelineError(
            f"{path} has no tensor {node!r} (its sidecar names the nodes: rebuild both with the "
            "freeze stage)"
        ) from error


def open_savedmodel(path: Path, tags: list[str]) -> Any:
    """`tf.saved_model.load(path, tags)`; a missing or unreadable SavedModel is a PipelineError."""
    import tensorflow as tf

    try:
        return tf.saved_model.load(str(path), tags=tags)
    except (OSError, ValueError, RuntimeError, tf.errors.OpError) as error:
        message = getattr(error, "message", str(error))
        raise PipelineError(
            f"{path} is not a readable SavedModel: {first_sentence(message)} (rebuild it with the "
            "savedmodel stage, or give a folder written by tf.saved_model.save)"
        ) from error


def signature_of(loaded: Any, signature: str, path: Path) -> Any:
    """The signature `signature` of a loaded SavedModel, or a PipelineError listing those it has."""
    if signature not in loaded.signatures:
        found = ", ".join(loaded.signatures.keys()) or "none"
        raise PipelineError(
            f"SavedModel {path} has no signature {signature!r} (it has: {found}) (save it with "
            f"tf.saved_model.save(..., signatures={{{signature!r}: ...}}), or rebuild it with the "
            "savedmodel stage)"
        )
    return loaded.signatures[signature]


def load_savedmodel(path: Path, tags: list[str], signature: str) -> Any:
    """A SavedModel's signature function (a ConcreteFunction): keyword inputs -> dict of outputs."""
    return signature_of(open_savedmodel(path, tags), signature, path)


def run_signature(fn: Any, inputs: Tensors, output_names: list[str], batch: int = 32) -> Tensors:
    """A signature function's named outputs for `inputs`, computed in batches."""
    import tensorflow as tf

    parts = []
    for part in tensors.batches(inputs, batch):
        found = fn(**{name: tf.constant(array) for name, array in part.items()})
        parts.append({name: found[name].numpy() for name in output_names})
    return tensors.concat(parts)
