"""A .tflite in the Python LiteRT interpreter, with the same (de)quantization as litert_runner."""

from pathlib import Path

import numpy as np

from pipelines.backends.base import InputSpec
from pipelines.backends.tf.loader import SIGNATURE
from pipelines.config import InputLayout, ModelConfig
from pipelines.errors import PipelineError, first_sentence
from pipelines.tensors import Tensors


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """float32 -> int8/uint8 exactly as the C++ library does it (cpp/lib/quantize.h): x / scale
    in float32, rounded half away from zero, plus the zero point, clipped to the type's range;
    ±Inf and out-of-range values saturate, NaN becomes the type's minimum."""
    with np.errstate(over="ignore", invalid="ignore"):  # huge values and inf saturate below
        v = x.astype(np.float32) / np.float32(scale)
        r = np.trunc(v)
        r = r + np.where(np.abs(v - r) >= 0.5, np.sign(v), 0).astype(np.float32)
    info = np.iinfo(dtype)
    q = np.clip(r + np.float32(zero_point), info.min, info.max)
    return np.where(np.isnan(q), info.min, q).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (q.astype(np.int32) - zero_point).astype(np.float32) * np.float32(scale)


def is_quantized(details: dict) -> bool:
    """Whether a LiteRT tensor holds quantized reals (int8/uint8 with a scale), not plain
    integers such as token ids."""
    return np.dtype(details["dtype"]).kind in "iu" and details["quantization"][0] != 0


def litert_input_spec(name: str, details: dict, layout: str) -> InputSpec:
    """What a LiteRT signature input takes: its fixed shape, and its own dtype or, for a
    quantized input, also float32 (quantized on the way in, as litert_runner does)."""
    dtype = np.dtype(details["dtype"]).name
    dtypes = ("float32", dtype) if is_quantized(details) else (dtype,)
    return InputSpec(name, [int(d) for d in details["shape"]], dtypes, layout)


class LiteRTRunner:
    runtime = "litert"

    def __init__(self, model_path: Path, model: ModelConfig):
        import ai_edge_litert.interpreter  # noqa: F401  (so load_ms times the model, not the import)

        self.path, self.model = model_path, model

    def load(self, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        if not self.path.is_file():
            raise PipelineError(f"{self.path} not found (run the quantize stage, or fix the path)")
        try:
            self.interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
            self.runner = self.interpreter.get_signature_runner(SIGNATURE)
        except ValueError as error:  # not a flatbuffer, or no such signature
            raise PipelineError(
                f"{self.path} is not a .tflite model with a {SIGNATURE!r} signature: "
                f"{first_sentence(str(error))} (rebuild it with the quantize stage, or give a file "
                "that tf.lite.TFLiteConverter wrote)"
            ) from error
        self.inputs = self.runner.get_input_details()
        self.outputs = self.runner.get_output_details()
        images = {t.name for t in self.model.input_tensors if t.layout is InputLayout.image}
        self.input_specs = [
            litert_input_spec(name, details, "NHWC" if name in images else "")
            for name, details in self.inputs.items()
        ]

    def _fed(self, name: str, sample: np.ndarray) -> np.ndarray:
        details = self.inputs[name]
        dtype = np.dtype(details["dtype"])
        if is_quantized(details) and sample.dtype != dtype:
            scale, zero_point = details["quantization"]
            return quantize(sample, scale, zero_point, dtype)
        return sample

    def _fetched(self, name: str, out: np.ndarray) -> np.ndarray:
        details = self.outputs[name]
        if is_quantized(details):
            scale, zero_point = details["quantization"]
            return dequantize(out, scale, zero_point)
        return out if out.dtype.kind in "iu" else out.astype(np.float32)

    def infer(self, sample: Tensors) -> Tensors:
        found = self.runner(**{name: self._fed(name, a) for name, a in sample.items()})
        return {name: self._fetched(name, found[name]) for name in self.model.output_names}
