"""Load an exported file back and compare it with eager PyTorch: at the traced size, at other
sizes (a trace that baked the example's shape in fails there), and on every device it must run on.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.backends.torch.loader import load_export
from pipelines.config import ExportMethod, ModelConfig, TraceConfig
from pipelines.errors import first_lines
from pipelines.sidecar import SizeCheck


@dataclass
class Verification:
    traced_error: float
    sizes: list[SizeCheck] = field(default_factory=list)
    devices: dict[str, float] = field(default_factory=dict)  # max abs error where it loads
    hard_coded_devices: list[str] = field(default_factory=list)
    eager_shapes: list[list[int]] = field(default_factory=list)  # traced size first
    output_dtype: str = "float32"

    @property
    def failures(self) -> list[SizeCheck]:
        return [c for c in self.sizes if not c["ok"]]


def check_sizes(model: ModelConfig, trace: TraceConfig) -> list[list[int]]:
    """The NCHW shapes to verify besides the traced one (configured, or two derived ones that
    differ from it in both height and width)."""
    _, height, width, channels = model.input_shape
    pairs = trace.check_sizes or [
        [height + height // 2, width + width // 4],
        [height + height // 4, width + width // 2],
    ]
    return [[1, channels, h, w] for h, w in pairs]


def sizes_the_network_takes(
    module, shapes: list[list[int]], traced_shape: list[int]
) -> tuple[list[list[int]], str]:
    """`shapes`, or none if eager PyTorch itself refuses one of them (a recurrent layer over
    image rows, a flatten into a linear layer: the network takes one size only), with why."""
    import torch

    generator = torch.Generator().manual_seed(0)
    for shape in shapes:
        try:
            _run(module, torch.rand(shape, generator=generator))
        except Exception as error:
            return [], (
                f"the network itself takes only {traced_shape} (eager PyTorch at {shape}: "
                f"{first_lines(error, 1)})"
            )
    return shapes, ""


def _run(fn, x) -> np.ndarray:
    import torch

    with torch.inference_mode():
        out = fn(x).detach().cpu()
    return (out if out.dtype in (torch.int32, torch.int64) else out.float()).numpy()


def _source(node) -> str:
    """The innermost Python line a TorchScript node was recorded from: `file.py(line): function`,
    or `torch/...` (from the package root) where PyTorch's own code created it."""
    innermost = node.sourceRange().splitlines()[:1]
    if not innermost:
        return "an unknown line"
    parts = Path(innermost[0]).parts
    inside_torch = "site-packages" in parts and parts[parts.index("site-packages") + 1] == "torch"
    return str(Path(*parts[parts.index("site-packages") + 1 :])) if inside_torch else parts[-1]


def _device_constants(loaded) -> list[str]:
    """Devices written into a TorchScript graph as constants (they pin it to one device), each
    with the ops that use it and where, e.g. `cpu (aten::zeros at torch/nn/modules/rnn.py(1425):
    forward)`."""
    import torch

    found = []
    for node in loaded.inlined_graph.nodes():
        if node.kind() == "prim::Constant" and isinstance(
            node.output().type(), torch.DeviceObjType
        ):
            users = sorted({f"{u.user.kind()} at {_source(u.user)}" for u in node.output().uses()})
            found.append(f"{node.output().toIValue()} ({', '.join(users)})")
    return sorted(set(found))


def _check_size(loaded, x, expected: np.ndarray, atol: float) -> SizeCheck:
    """The export against eager PyTorch's output `expected` on `x`."""
    shape = list(x.shape)
    try:
        actual = _run(loaded, x)
    except Exception as error:
        return SizeCheck(shape=shape, ok=False, max_abs_error=None, problem=first_lines(error, 1))
    if actual.shape != expected.shape:
        problem = f"output shape {list(actual.shape)} instead of {list(expected.shape)}"
        return SizeCheck(shape=shape, ok=False, max_abs_error=None, problem=problem)
    max_error = float(np.abs(actual - expected).max())
    too_far = None if max_error <= atol else f"max abs error {max_error:.3g} > {atol:g}"
    return SizeCheck(shape=shape, ok=too_far is None, max_abs_error=max_error, problem=too_far)


def verify(
    method: ExportMethod,
    module,
    path: Path,
    example,
    shapes: list[list[int]],
    trace: TraceConfig,
    device: str,
) -> Verification:
    """Compare the export at `path` with eager PyTorch at the traced size and at `shapes` on the
    CPU, and at the traced size on `device` (where `example` is)."""
    import torch

    loaded = load_export(path, "cpu")
    cpu_module = module.to("cpu")
    expected = _run(cpu_module, example.cpu())
    traced_error = float(np.abs(_run(loaded, example.cpu()) - expected).max())
    result = Verification(
        traced_error=traced_error,
        eager_shapes=[list(expected.shape)],
        output_dtype=expected.dtype.name,
    )
    if method is not ExportMethod.aoti:
        result.hard_coded_devices = _device_constants(loaded)
    generator = torch.Generator().manual_seed(0)
    for shape in shapes:
        x = torch.rand(shape, generator=generator)
        eager = _run(cpu_module, x)
        result.sizes.append(_check_size(loaded, x, eager, trace.atol))
        result.eager_shapes.append(list(eager.shape))
    result.devices["cpu"] = traced_error
    if device != "cpu" and method is not ExportMethod.aoti:
        on_device = _run(load_export(path, device), example)
        result.devices[device] = float(np.abs(on_device - expected).max())
    return result
