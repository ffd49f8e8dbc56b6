"""Load an exported file back and compare it with eager PyTorch: at the traced size, at other
sizes (a trace that baked the example's shape in fails there), and on every device it must run on.

The network is called with a tuple of inputs (`args`, in config order, images NCHW) and its
outputs are compared one by one, in the order it returns them.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.backends.torch.loader import load_export
from pipelines.config import ExportMethod, InputLayout, ModelConfig, TraceConfig
from pipelines.errors import first_lines
from pipelines.sidecar import SizeCheck

Args = tuple  # the network's inputs, torch tensors in config order


@dataclass
class Verification:
    traced_error: float
    sizes: list[SizeCheck] = field(default_factory=list)
    devices: dict[str, float] = field(default_factory=dict)  # max abs error where it loads
    hard_coded_devices: list[str] = field(default_factory=list)
    # per size checked (traced size first), each output's shape
    eager_shapes: list[list[list[int]]] = field(default_factory=list)
    output_dtypes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[SizeCheck]:
        return [c for c in self.sizes if not c["ok"]]


def label(model: ModelConfig, args: Args) -> list[int]:
    """The shape a size check is known by: the first image input's (else the first input's)."""
    layouts = [t.layout for t in model.input_tensors]
    index = layouts.index(InputLayout.image) if InputLayout.image in layouts else 0
    return list(args[index].shape)


def check_sizes(model: ModelConfig, trace: TraceConfig, example: Args) -> list[Args]:
    """The inputs to verify besides the traced ones: every image input at other heights and
    widths (configured, or two derived ones that differ from the first image's in both), random;
    the other inputs as in `example`."""
    import torch

    _, _, height, width = label(model, example)
    pairs = trace.check_sizes or [
        [height + height // 2, width + width // 4],
        [height + height // 4, width + width // 2],
    ]
    generator = torch.Generator().manual_seed(0)
    return [
        tuple(
            torch.rand([1, x.shape[1], h, w], generator=generator)
            if t.layout is InputLayout.image
            else x
            for t, x in zip(model.input_tensors, example, strict=True)
        )
        for h, w in pairs
    ]


@dataclass(frozen=True)
class SizeCase:
    """Inputs of another size, and eager PyTorch's outputs for them (on the CPU)."""

    args: Args
    expected: list[np.ndarray]


def sizes_the_network_takes(
    module, model: ModelConfig, checks: list[Args], traced_shape: list[int]
) -> tuple[list[SizeCase], str]:
    """`checks` with eager PyTorch's outputs, or none if eager PyTorch itself refuses one of
    them (a recurrent layer over image rows, a flatten into a linear layer: the network takes
    one size only), with why."""
    cases = []
    for args in checks:
        try:
            cases.append(SizeCase(args, _run(module, args)))
        except Exception as error:
            return [], (
                f"the network itself takes only {traced_shape} (eager PyTorch at "
                f"{label(model, args)}: {first_lines(error, 1)})"
            )
    return cases, ""


def _run(fn, args: Args) -> list[np.ndarray]:
    """The outputs of `fn(*args)` in the order it returns them, on the CPU (reals float32)."""
    import torch

    with torch.inference_mode():
        out = fn(*args)
    found = list(out.values()) if isinstance(out, dict) else out
    found = list(found) if isinstance(found, tuple | list) else [found]
    return [
        (o if o.dtype in (torch.int32, torch.int64) else o.float()).detach().cpu().numpy()
        for o in found
    ]


def _max_error(actual: list[np.ndarray], expected: list[np.ndarray]) -> float:
    return max(float(np.abs(a - e).max(initial=0.0)) for a, e in zip(actual, expected, strict=True))


def _source(node) -> str:
    """The innermost Python line a TorchScript node was recorded from: `file.py(line): function`,
    or `torch/...` (from the package root) where PyTorch's own code created it."""
    import torch

    innermost = node.sourceRange().splitlines()[:1]
    if not innermost:
        return "an unknown line"
    where = Path(innermost[0])
    package_root = Path(torch.__file__).parent.parent
    if where.is_relative_to(package_root / "torch"):
        return str(where.relative_to(package_root))
    return where.name


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


def _check_size(loaded, args: Args, shape: list[int], expected, atol: float) -> SizeCheck:
    """The export against eager PyTorch's outputs `expected` on `args` (known by `shape`)."""
    try:
        actual = _run(loaded, args)
    except Exception as error:
        return SizeCheck(shape=shape, ok=False, max_abs_error=None, problem=first_lines(error, 1))
    got, want = [list(a.shape) for a in actual], [list(e.shape) for e in expected]
    if got != want:
        one = len(got) == len(want) == 1
        problem = (
            f"output shape {got[0]} instead of {want[0]}"
            if one
            else f"output shapes {got} instead of {want}"
        )
        return SizeCheck(shape=shape, ok=False, max_abs_error=None, problem=problem)
    max_error = _max_error(actual, expected)
    too_far = None if max_error <= atol else f"max abs error {max_error:.3g} > {atol:g}"
    return SizeCheck(shape=shape, ok=too_far is None, max_abs_error=max_error, problem=too_far)


def verify(
    method: ExportMethod,
    module,
    model: ModelConfig,
    path: Path,
    example: Args,
    checks: list[SizeCase],
    atol: float,
    device: str,
) -> Verification:
    """Compare the export at `path` with eager PyTorch at the traced size and with the outputs
    of `checks` on the CPU (within `atol`), and at the traced size on `device` (where `example`
    is)."""
    loaded = load_export(path, "cpu")
    cpu_module = module.to("cpu")
    on_cpu = tuple(x.cpu() for x in example)
    expected = _run(cpu_module, on_cpu)
    traced_error = _max_error(_run(loaded, on_cpu), expected)
    result = Verification(
        traced_error=traced_error,
        eager_shapes=[[list(e.shape) for e in expected]],
        output_dtypes=[e.dtype.name for e in expected],
    )
    if not method.is_aoti:
        result.hard_coded_devices = _device_constants(loaded)
    for case in checks:
        shape = label(model, case.args)
        result.sizes.append(_check_size(loaded, case.args, shape, case.expected, atol))
        result.eager_shapes.append([list(e.shape) for e in case.expected])
    result.devices["cpu"] = traced_error
    if device != "cpu" and not method.is_aoti:
        result.devices[device] = _max_error(_run(load_export(path, device), example), expected)
    return result
