"""A .tflite in the Python LiteRT interpreter, with the same (de)quantization as litert_runner."""

from pathlib import Path

import numpy as np

from pipelines.backends.tf.loader import SIGNATURE
from pipelines.config import ModelConfig


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


class LiteRTRunner:
    runtime = "litert"

    def __init__(self, model_path: Path, model: ModelConfig):
        import ai_edge_litert.interpreter  # noqa: F401  (so load_ms times the model, not the import)

        self.path = model_path

    def load(self, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        self.runner = self.interpreter.get_signature_runner(SIGNATURE)
        ((self.input_name, self.input),) = self.runner.get_input_details().items()
        ((self.output_name, self.output),) = self.runner.get_output_details().items()

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
