"""The graph nodes a TF artifact is fed and fetched by, from its sidecar: for the Python frozen-graph
runner and for tf_runner's command line.

    python -m pipelines.backends.tf.nodes artifacts/savedmodel/model
    --input-node serving_default_input:0 --output-node StatefulPartitionedCall:0
"""

import sys
from pathlib import Path

from pipelines import sidecar
from pipelines.errors import PipelineError


def nodes(artifact: Path) -> tuple[str, str]:
    """The input and output node ("op:index") of a one-input, one-output frozen graph (a .pb
    file) or SavedModel (a directory)."""
    info: sidecar.FrozenGraph | sidecar.SavedModel = (
        sidecar.read(artifact, sidecar.SavedModel)
        if artifact.is_dir()
        else sidecar.read(artifact, sidecar.FrozenGraph)
    )
    if len(info["inputs"]) != 1 or len(info["outputs"]) != 1:
        raise PipelineError(
            f"{sidecar.sidecar_path(artifact)} lists {len(info['inputs'])} inputs and "
            f"{len(info['outputs'])} outputs; the TF runners run one input and one output"
        )
    return info["inputs"][0]["node"], info["outputs"][0]["node"]


def cpp_flags(artifact: Path) -> list[str]:
    """The tf_runner flags that name the nodes of `artifact`."""
    input_node, output_node = nodes(artifact)
    return ["--input-node", input_node, "--output-node", output_node]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(
            "usage: python -m pipelines.backends.tf.nodes MODEL  (a frozen .pb or a SavedModel)"
        )
    try:
        print(" ".join(cpp_flags(Path(sys.argv[1]))))
    except PipelineError as error:
        sys.exit(f"error: {error}")
