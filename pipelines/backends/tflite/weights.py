"""Read a .tflite flatbuffer: which weight tensors are stored in which type.

This is what tells a quantization mode that did something from one that silently did nothing
(dynamic-range quantization skips weight tensors under 1024 elements).
"""

from dataclasses import dataclass

import numpy as np

from pipelines.sidecar import WeightStorage

# TensorType values from the TFLite schema.
TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}


@dataclass(frozen=True)
class WeightTensor:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


def weight_tensors(model_bytes: bytes) -> list[WeightTensor]:
    """Constant tensors of rank >= 2 (convolution and dense kernels, not biases or shapes)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    found = []
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            buffer = model.buffers[tensor.buffer]
            has_data = (buffer.data is not None and len(buffer.data) > 0) or bool(buffer.offset)
            shape = tuple(int(d) for d in (tensor.shape if tensor.shape is not None else []))
            if has_data and len(shape) >= 2:
                name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
                found.append(
                    WeightTensor(name, TYPE_NAMES.get(tensor.type, str(tensor.type)), shape)
                )
    return found


def summarize(weights: list[WeightTensor]) -> dict[str, WeightStorage]:
    """Count and total elements of weight tensors per storage type."""
    summary: dict[str, WeightStorage] = {}
    for w in weights:
        entry = summary.setdefault(w.dtype, WeightStorage(tensors=0, elements=0))
        entry["tensors"] += 1
        entry["elements"] += w.elements
    return summary


def check_effect(mode: str, weights: list[WeightTensor]) -> tuple[bool, str]:
    """Did `mode` change how the weights are stored? Returns (effective, explanation)."""
    target = {"dynamic": "int8", "float16": "float16", "int8": "int8", "uint8": "int8"}.get(
        mode.removesuffix("_selective")
    )
    if target is None:
        return True, "float32 baseline: nothing to quantize"
    converted = [w for w in weights if w.dtype == target]
    left = [w for w in weights if w.dtype == "float32"]
    if not converted:
        sizes = ", ".join(f"{w.name} ({w.elements})" for w in left[:6])
        hint = (
            " (dynamic-range quantization skips weight tensors under 1024 elements)"
            if mode == "dynamic"
            else ""
        )
        return (
            False,
            f"{mode} changed nothing: all {len(left)} weight tensors are still float32{hint}: {sizes}",
        )
    message = f"{len(converted)} of {len(weights)} weight tensors stored as {target}"
    if left:
        message += "; left in float32: " + ", ".join(
            f"{w.name} ({w.elements} elements)" for w in left[:6]
        )
    return True, message
