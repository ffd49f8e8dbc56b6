"""PyTorch twin -> TorchScript (trace or script) or an AOTInductor .pt2 package, verified.

Verification is what makes the original post's two traps impossible to miss:
- a trace that bakes the example's shape in (`int(x.shape[2]) * 2`) is run at other sizes and
  compared with eager PyTorch; a mismatch fails the stage and names `script`/`aoti` as the fix;
- the saved file is loaded back on the CPU (map_location) and scanned for hard-coded devices,
  and, where CUDA exists, traced on the GPU and proven to run on both.
"""

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.config import ExportMethod, ModelConfig, TraceConfig
from pipelines.errors import PipelineError

log = logging.getLogger(__name__)


@dataclass
class SizeCheck:
    shape: list[int]
    ok: bool
    max_abs_error: float | None = None
    problem: str | None = None


@dataclass
class Verification:
    traced_error: float
    sizes: list[SizeCheck] = field(default_factory=list)
    devices: dict[str, float] = field(default_factory=dict)
    hard_coded_devices: list[str] = field(default_factory=list)


def pick_device(setting: str) -> str:
    """`auto` means CUDA when this machine has it, else the CPU."""
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise PipelineError(
            f"trace.device={setting} but CUDA is not available here (use auto or cpu)"
        )
    return setting


def check_sizes(model: ModelConfig, trace: TraceConfig) -> list[list[int]]:
    """The NCHW shapes to verify besides the traced one (configured, or two derived ones that
    differ from it in both height and width)."""
    _, height, width, channels = model.input_shape
    pairs = trace.check_sizes or [
        [height + height // 2, width + width // 4],
        [height + height // 4, width + width // 2],
    ]
    return [[1, channels, h, w] for h, w in pairs]


def _export(method: ExportMethod, module, example, trace: TraceConfig, out: Path) -> list[str]:
    """Write the artifact; return the tracer's warnings about shape or value specialisation."""
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method is ExportMethod.trace:
            torch.jit.save(torch.jit.trace(module, example), str(out))
        elif method is ExportMethod.script:
            try:
                scripted = torch.jit.script(module)
            except Exception as error:
                raise PipelineError(
                    f"torch.jit.script cannot compile the network: {_first_lines(error)} "
                    "(use trace.methods=[aoti])"
                ) from None
            torch.jit.save(scripted, str(out))
        else:
            _export_aoti(module, example, trace, out)
    return [
        " ".join(str(w.message).split())
        for w in caught
        if issubclass(w.category, torch.jit.TracerWarning)
    ]


def _first_lines(error: BaseException, count: int = 3) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " / ".join(lines[:count]) or type(error).__name__


def _export_aoti(module, example, trace: TraceConfig, out: Path) -> None:
    import torch
    from torch.export import Dim

    dims = {
        2: Dim("height", min=trace.min_size, max=trace.max_size),
        3: Dim("width", min=trace.min_size, max=trace.max_size),
    }
    try:
        # strict=True (TorchDynamo) follows int(x.shape[2]) symbolically; non-strict specialises it.
        program = torch.export.export(module, (example,), dynamic_shapes=(dims,), strict=True)
    except Exception as error:
        raise PipelineError(
            f"torch.export cannot export the network with dynamic height/width: {_first_lines(error)}"
            " (make the failing op shape-generic, or use trace.methods=[script])"
        ) from None
    torch._inductor.aoti_compile_and_package(program, package_path=str(out))


def load(path: Path, device: str = "cpu"):
    """Load a saved export for inference on `device` (TorchScript is remapped with map_location)."""
    import torch

    if path.suffix == ".pt2":
        return torch._inductor.aoti_load_package(str(path))
    return torch.jit.load(str(path), map_location=device).eval()


def _run(fn, x) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return fn(x).detach().cpu().float().numpy()


def _device_constants(loaded) -> list[str]:
    """Devices written into a TorchScript graph as constants (they pin it to one device)."""
    import torch

    found = []
    for node in loaded.inlined_graph.nodes():
        if node.kind() == "prim::Constant" and isinstance(
            node.output().type(), torch.DeviceObjType
        ):
            found.append(str(node.output().toIValue()))
    return sorted(set(found))


def verify(
    method: ExportMethod,
    module,
    path: Path,
    example,
    shapes: list[list[int]],
    trace: TraceConfig,
    device: str,
) -> Verification:
    """Compare the saved export with eager PyTorch at the traced size and at `shapes`."""
    import torch

    loaded = load(path, "cpu")
    cpu_module = module.to("cpu")
    traced_error = float(
        np.abs(_run(loaded, example.cpu()) - _run(cpu_module, example.cpu())).max()
    )
    result = Verification(traced_error=traced_error)
    if method is not ExportMethod.aoti:
        result.hard_coded_devices = _device_constants(loaded)
    generator = torch.Generator().manual_seed(0)
    for shape in shapes:
        x = torch.rand(shape, generator=generator)
        expected = _run(cpu_module, x)
        try:
            actual = _run(loaded, x)
        except Exception as error:
            result.sizes.append(SizeCheck(shape, False, problem=_first_lines(error, 1)))
            continue
        if actual.shape != expected.shape:
            result.sizes.append(
                SizeCheck(
                    shape,
                    False,
                    problem=f"output shape {list(actual.shape)} instead of {list(expected.shape)}",
                )
            )
            continue
        max_error = float(np.abs(actual - expected).max())
        problem = (
            None if max_error <= trace.atol else f"max abs error {max_error:.3g} > {trace.atol:g}"
        )
        result.sizes.append(SizeCheck(shape, problem is None, max_error, problem))
    result.devices["cpu"] = traced_error
    if device != "cpu" and method is not ExportMethod.aoti:
        on_device = load(path, device)
        result.devices[device] = float(
            np.abs(_run(on_device, example.to(device)) - _run(cpu_module, example.cpu())).max()
        )
    return result


def export(
    method: ExportMethod,
    module,
    model: ModelConfig,
    trace: TraceConfig,
    example_nhwc: np.ndarray,
    out: Path,
) -> dict[str, Any]:
    """Export `module` with `method` to `out`, verify it, and return the sidecar content."""
    import torch

    device = "cpu" if method is ExportMethod.aoti else pick_device(trace.device)
    # A fresh copy, not np.ascontiguousarray: with one channel the transposed view already counts
    # as contiguous but keeps odd strides, which AOTInductor would bake into the package.
    nchw = np.array(example_nhwc[:1].transpose(0, 3, 1, 2), order="C")
    example = torch.from_numpy(nchw).to(device)
    module = module.to(device).eval()
    started = time.perf_counter()
    tracer_warnings = _export(method, module, example, trace, out)
    seconds = time.perf_counter() - started
    for message in tracer_warnings:
        log.warning("tracer: %s", message)
    shapes = check_sizes(model, trace)
    checked = verify(method, module, out, example, shapes, trace, device)
    if not checked.traced_error <= trace.atol:
        raise PipelineError(
            f"the {method.name} export differs from eager PyTorch by {checked.traced_error:.3g} > "
            f"trace.atol={trace.atol:g} at the traced size {list(example.shape)}"
        )
    if checked.hard_coded_devices:
        raise PipelineError(
            f"the {method.name} export hard-codes device(s) {checked.hard_coded_devices}; create tensors "
            "with device=x.device in forward() so the file runs wherever it is loaded"
        )
    failures = [c for c in checked.sizes if not c.ok]
    fixed_shape = bool(failures)
    if failures and not (method is ExportMethod.trace and trace.allow_fixed_shape):
        first = failures[0]
        fix = (
            "use trace.methods=[script] (or [aoti]), or set trace.allow_fixed_shape=true to "
            "accept a fixed-shape model"
            if method is ExportMethod.trace
            else "fix the network"
        )
        hint = f"; the tracer warned: {tracer_warnings[0]}" if tracer_warnings else ""
        raise PipelineError(
            f"the {method.name} export is wrong at input size {first.shape} (traced at "
            f"{list(example.shape)}): {first.problem}{hint} -> {fix}"
        )
    if fixed_shape:
        log.warning(
            "accepting a fixed-shape trace (trace.allow_fixed_shape=true): it only works at %s",
            list(example.shape),
        )
    c = model.input_shape[3]
    return {
        "format": "aoti" if method is ExportMethod.aoti else "torchscript",
        "method": method.name,
        "layout": "NCHW",
        "inputs": [
            {
                "name": model.input_name,
                "dtype": "float32",
                "shape": [1, c, -1, -1] if not fixed_shape else list(example.shape),
            }
        ],
        "outputs": [{"name": model.output_name, "dtype": "float32"}],
        "traced_shape": list(example.shape),
        "traced_on": device,
        "traced_max_abs_error": checked.traced_error,
        "verified_sizes": [c.__dict__ for c in checked.sizes],
        "fixed_shape": fixed_shape,
        "loads_on": checked.devices,
        "tracer_warnings": tracer_warnings,
        "export_seconds": round(seconds, 2),
        "torch": torch.__version__,
    }
