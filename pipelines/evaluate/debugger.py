"""Per-layer quantization error from the TFLite quantization debugger: which layers to blame."""

import csv
import io
import math
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

from pipelines import tensors
from pipelines.config import ModelConfig, QuantMode
from pipelines.tensors import Tensors


def short_layer_name(tensor_name: str) -> str:
    """A quantized tensor's name without the call wrappers and fused-op suffixes."""
    first = tensor_name.split(";")[0]
    return re.sub(r"^(?:StatefulPartitionedCall/|PartitionedCall/)+", "", first)


def layer_errors(
    savedmodel_dir: Path, model: ModelConfig, calibration: Tensors, debug_inputs: Tensors
) -> list[dict[str, Any]]:
    """Quantize to full integer (float I/O, as int8 and uint8 share their quantized layers) and
    compare every quantized layer with its float counterpart on `debug_inputs`.

    Rows are sorted worst first by RMSE in units of the layer's quantization step
    (rmse / scale): above ~0.3 a layer loses more than rounding alone explains.
    """
    import tensorflow as tf

    from pipelines.backends.tflite.export import configure, converter_for, input_order

    order = input_order(savedmodel_dir, model)
    samples = [tensors.rows(debug_inputs, i, i + 1) for i in range(tensors.count(debug_inputs))]
    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-debug-") as workdir:
        converter = configure(
            converter_for(savedmodel_dir, model, Path(workdir)), QuantMode.int8, calibration
        )
        converter.inference_input_type = converter.inference_output_type = tf.float32
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=lambda: ([sample[name] for name in order] for sample in samples),
        )
        with warnings.catch_warnings():  # the debugger uses the deprecated tf.lite.Interpreter
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
    rows = []
    for row in csv.DictReader(io.StringIO(dump.getvalue())):
        scale = float(row["scale"])
        mse = float(row["mean_squared_error"])
        rows.append(
            {
                "layer": short_layer_name(row["tensor_name"]),
                "op": row["op_name"],
                "scale": scale,
                "zero_point": int(row["zero_point"]),
                "max_abs_error": float(row["max_abs_error"]),
                "mean_squared_error": mse,
                "rmse_over_scale": math.sqrt(mse) / scale if scale > 0 else math.inf,
            }
        )
    return sorted(rows, key=lambda r: r["rmse_over_scale"], reverse=True)
