"""The graph nodes a TF artifact is fed and fetched by, from its sidecar: for the Python frozen-graph
runner and for tf_runner's command line.

    python -m pipelines.backends.tf.nodes artifacts/savedmodel/model
    --input-node serving_default_input:0 --output-node StatefulPartitionedCall:0
"""

import sys
from pathlib import Path

from pipelines import sidecar
from pipelines.errors import PipelineError


def nodes(artifact: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The input and output nodes ("op:index") by tensor name, in the model's order, of a frozen
    graph (a .pb file) or SavedModel (a directory)."""
    info: sidecar.FrozenGraph | sidecar.SavedModel = (
        sidecar.read(artifact, sidecar.SavedModel)
        if artifact.is_dir()
        else sidecar.read(artifact, sidecar.FrozenGraph)
    )
    return (
        {t["name"]: t["node"] for t in info["inputs"]},
        {t["name"]: t["node"] for t in info["outputs"]},
    )


def cpp_flags(artifact: Path) -> list[str]:
    """The tf_runner flags that name the nodes of `artifact`: `OP:IDX` for a one-input,
    one-output model, else `NAME=OP:IDX` per tensor."""
    inputs, outputs = nodes(artifact)
    one = len(inputs) == 1 and len(outputs) == 1
    flags = []
    for flag, found in (("--input-node", inputs), ("--output-node", outputs)):
        for name, node in found.items():
            flags += [flag, node if one else f"{name}={node}"]
    return flags


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(
            "usage: python -m pipelines.backends.tf.nodes MODEL  (a frozen .pb or a SavedModel)"
        )
    try:
        print(" ".join(cpp_flags(Path(sys.argv[1]))))
    except PipelineError as error:
        sys.exit(f"error: {error}")
