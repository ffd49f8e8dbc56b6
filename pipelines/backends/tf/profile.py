"""Where a TensorFlow graph's time goes: inferences run in a TF1 Session with a full trace, each
node's time read from the run metadata's step stats (the oneDNN kernels show as `_Mkl*` ops)."""

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.backends.base import OpTime
from pipelines.backends.tf.loader import load_frozen_graph_def
from pipelines.tensors import Tensors

PROFILER = "TF Session step stats (RunOptions FULL_TRACE), median per node over the runs"


def _op_type(timeline_label: str) -> str:
    """`[mklcpu] conv1/Relu = _MklNativeFusedConv2D(...)` -> `_MklNativeFusedConv2D`."""
    _, _, call = timeline_label.partition(" = ")
    return call.split("(", 1)[0].strip() or "?"


@dataclass(frozen=True)
class Inferences:
    """What to profile: `runs` inferences on `threads` threads, run k on samples[k % N]; with
    `bf16`, Grappler's oneDNN bfloat16 auto-mixed-precision on."""

    samples: list[Tensors]
    runs: int
    threads: int
    bf16: bool = False


def _traced_times(
    load: Callable[[Any], None], feeds: list[dict[str, Any]], fetches: list[str], work: Inferences
) -> dict[tuple[str, str], list[float]]:
    """Each node's time (ms) in each traced run, by (node name, op type)."""
    import tensorflow as tf
    from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig

    v1 = tf.compat.v1
    config = v1.ConfigProto(
        intra_op_parallelism_threads=work.threads, inter_op_parallelism_threads=1
    )
    if work.bf16:
        config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = (
            RewriterConfig.ON
        )
    times: dict[tuple[str, str], list[float]] = {}
    with v1.Graph().as_default(), v1.Session(config=config) as session:
        load(session)
        session.run(fetches, feeds[0])  # first run: graph set-up, not profiled
        options = v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE)
        for feed in feeds:
            metadata = v1.RunMetadata()
            session.run(fetches, feed, options=options, run_metadata=metadata)
            for device in metadata.step_stats.dev_stats:
                for node in device.node_stats:
                    key = (node.node_name, _op_type(node.timeline_label))
                    elapsed = (node.op_end_rel_micros - node.op_start_rel_micros) / 1e3
                    times.setdefault(key, []).append(elapsed)
    return times


def _op_times(times: dict[tuple[str, str], list[float]]) -> list[OpTime]:
    return [
        OpTime(name=name, kind=kind, ms=statistics.median(values))
        for (name, kind), values in times.items()
        if kind not in ("_Arg", "_Retval", "NoOp", "?")
    ]


def _profile(
    load: Callable[[Any], None], inputs: dict[str, str], outputs: dict[str, str], work: Inferences
) -> list[OpTime]:
    """Per-node times of the graph `load` puts into the session, fed by node name (`inputs`:
    input name -> node)."""
    feeds = [
        {inputs[name]: array for name, array in work.samples[k % len(work.samples)].items()}
        for k in range(work.runs)
    ]
    return _op_times(_traced_times(load, feeds, list(outputs.values()), work))


def profile_frozen(
    path: Path, inputs: dict[str, str], outputs: dict[str, str], work: Inferences
) -> list[OpTime]:
    """Per-node times of a frozen GraphDef."""
    import tensorflow as tf

    graph_def = load_frozen_graph_def(path)
    return _profile(
        lambda _: tf.compat.v1.import_graph_def(graph_def, name=""), inputs, outputs, work
    )


def profile_savedmodel(
    path: Path, tags: list[str], inputs: dict[str, str], outputs: dict[str, str], work: Inferences
) -> list[OpTime]:
    """Per-node times of a SavedModel's serving graph, fed by its signature's nodes."""
    import tensorflow as tf

    def load(session: Any) -> None:
        tf.compat.v1.saved_model.loader.load(session, tags, str(path))

    return _profile(load, inputs, outputs, work)
