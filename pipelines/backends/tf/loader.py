"""Load TF artifacts for inference: a frozen GraphDef by node names, a SavedModel by signature."""

from collections.abc import Callable
from pathlib import Path

SERVE_TAG = "serve"
SIGNATURE = "serving_default"


def load_frozen(path: Path, input_node: str, output_node: str) -> Callable:
    """Import a frozen GraphDef as a function from the `input_node` tensor to `output_node`."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(path).read_bytes())
    fn = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    return fn.prune(
        fn.graph.get_tensor_by_name(input_node), fn.graph.get_tensor_by_name(output_node)
    )


def load_savedmodel(path: Path, tags: list[str], signature: str) -> Callable:
    """A SavedModel's signature function: keyword inputs -> dict of outputs."""
    import tensorflow as tf

    return tf.saved_model.load(str(path), tags=tags).signatures[signature]
