"""A .tflite in the Python LiteRT interpreter, with the same (de)quantization as litert_runner."""

from pathlib import Path

import numpy as np

from pipelines.backends.base import InputSpec
from pipelines.backends.tf.loader import SIGNATURE
from pipelines.config import ModelConfig
from pipelines.errors import PipelineError, first_sentence


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """float32 -> int8/uint8 exactly as the C++ runner does it: x / scale in float32, rounded half
    away from zero, plus the zero point, clipped to the type's range."""
    v = x.astype(np.float32) / np.float32(scale)
    r = np.trunc(v)
    r = r + np.where(np.abs(v - r) >= 0.5, np.sign(v), 0).astype(np.float32)
    info = np.iinfo(dtype)
    return np.clip(r + np.float32(zero_point), info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (q.astype(np.int32) - zero_point).astype(np.float32) * np.float32(scale)


def litert_input_spec(name: str, details: dict) -> InputSpec:
    """What a LiteRT signature input takes: its fixed shape, and float32 (quantized on the way
    in, as litert_runner does) or, for an integer model, also the integer dtype itself."""
    dtype = np.dtype(details["dtype"]).name
    dtypes = ("float32",) if dtype == "float32" else ("float32", dtype)
    return InputSpec(name, [int(d) for d in details["shape"]], dtypes, "NHWC")


class LiteRTRunner:
    runtime = "litert"

    def __init__(self, model_path: Path, model: ModelConfig):
        import ai_edge_litert.interpreter  # noqa: F401  (so load_ms times the model, not the import)

        self.path = model_path

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
        ((self.input_name, self.input),) = self.runner.get_input_details().items()
        ((self.output_name, self.output),) = self.runner.get_output_details().items()
        self.input_spec = litert_input_spec(self.input_name, self.input)

    def infer(self, sample: np.ndarray) -> np.ndarray:
        dtype = np.dtype(self.input["dtype"])
        if dtype.kind in "iu" and sample.dtype != dtype:
            scale, zero_point = self.input["quantization"]
            sample = quantize(sample, scale, zero_point, dtype)
        out = self.runner(**{self.input_name: sample})[self.output_name]
        if np.dtype(self.output["dtype"]).kind in "iu":
            scale, zero_point = self.output["quantization"]
            return dequantize(out, scale, zero_point)
        return out.astype(np.float32)
