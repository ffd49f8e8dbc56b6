"""PyTorch twin -> TorchScript (trace or script) or an AOTInductor .pt2 package, verified.

Verification (verify.py) is what makes the original post's two traps impossible to miss:
- a trace that bakes the example's shape in (`int(x.shape[2]) * 2`) is run at other sizes and
  compared with eager PyTorch; a mismatch fails the stage and names `script`/`aoti` as the fix;
- the saved file is loaded back on the CPU (map_location) and scanned for hard-coded devices,
  and, where CUDA exists, traced on the GPU and proven to run on both.
"""

import logging
import time
import warnings
from pathlib import Path

import numpy as np

from pipelines import sidecar
from pipelines.backends.torch.verify import Verification, check_sizes, first_lines, verify
from pipelines.config import ExportMethod, ModelConfig, TraceConfig
from pipelines.errors import PipelineError

log = logging.getLogger(__name__)


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


def _save(method: ExportMethod, module, example, trace: TraceConfig, out: Path) -> list[str]:
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
                    f"torch.jit.script cannot compile the network: {first_lines(error)} "
                    "(use trace.methods=[aoti])"
                ) from None
            torch.jit.save(scripted, str(out))
        else:
            _save_aoti(module, example, trace, out)
    return [
        " ".join(str(w.message).split())
        for w in caught
        if issubclass(w.category, torch.jit.TracerWarning)
    ]


def _save_aoti(module, example, trace: TraceConfig, out: Path) -> None:
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
            f"torch.export cannot export the network with dynamic height/width: {first_lines(error)}"
            " (make the failing op shape-generic, or use trace.methods=[script])"
        ) from None
    torch._inductor.aoti_compile_and_package(program, package_path=str(out))


def _accept(
    method: ExportMethod,
    checked: Verification,
    trace: TraceConfig,
    traced_shape: list[int],
    tracer_warnings: list[str],
) -> bool:
    """Fail on any verification problem that `trace` does not allow; return whether the export
    only works at the traced shape (a fixed-shape trace accepted by trace.allow_fixed_shape)."""
    if not checked.traced_error <= trace.atol:
        raise PipelineError(
            f"the {method.name} export differs from eager PyTorch by {checked.traced_error:.3g} > "
            f"trace.atol={trace.atol:g} at the traced size {traced_shape}"
        )
    if checked.hard_coded_devices:
        raise PipelineError(
            f"the {method.name} export hard-codes device(s) {checked.hard_coded_devices}; create tensors "
            "with device=x.device in forward() so the file runs wherever it is loaded"
        )
    failures = checked.failures
    if failures and not (method is ExportMethod.trace and trace.allow_fixed_shape):
        fix = (
            "use trace.methods=[script] (or [aoti]), or set trace.allow_fixed_shape=true to "
            "accept a fixed-shape model"
            if method is ExportMethod.trace
            else "fix the network"
        )
        hint = f"; the tracer warned: {tracer_warnings[0]}" if tracer_warnings else ""
        raise PipelineError(
            f"the {method.name} export is wrong at input size {failures[0]['shape']} (traced at "
            f"{traced_shape}): {failures[0]['problem']}{hint} -> {fix}"
        )
    if failures:
        log.warning(
            "accepting a fixed-shape trace (trace.allow_fixed_shape=true): it only works at %s",
            traced_shape,
        )
    return bool(failures)


def _varying(shapes: list[list[int]]) -> list[int]:
    """The first shape, with -1 wherever the shapes differ."""
    return [d if all(s[i] == d for s in shapes) else -1 for i, d in enumerate(shapes[0])]


def _tensors(
    model: ModelConfig, checked: Verification, traced_shape: list[int], fixed_shape: bool
) -> tuple[sidecar.Tensor, sidecar.Tensor]:
    """The input and output entries: batch 1, and height and width dynamic (-1) unless the
    export only works at the traced shape."""
    if fixed_shape:
        input_shape, output_shape = traced_shape, checked.eager_shapes[0]
    else:
        input_shape = [1, model.input_shape[3], -1, -1]
        output_shape = _varying(checked.eager_shapes)
    return (
        sidecar.Tensor(name=model.input_name, dtype="float32", shape=input_shape),
        sidecar.Tensor(name=model.output_name, dtype="float32", shape=output_shape),
    )


def export(
    method: ExportMethod,
    module,
    model: ModelConfig,
    trace: TraceConfig,
    example_nhwc: np.ndarray,
    out: Path,
) -> sidecar.TorchExport:
    """Export `module` with `method` to `out`, verify it, and return its sidecar (without the
    twin check, which needs the Keras reference: `twin_vs_tf` is None)."""
    import torch

    device = "cpu" if method is ExportMethod.aoti else pick_device(trace.device)
    # A fresh copy, not np.ascontiguousarray: with one channel the transposed view already counts
    # as contiguous but keeps odd strides, which AOTInductor would bake into the package.
    nchw = np.array(example_nhwc[:1].transpose(0, 3, 1, 2), order="C")
    example = torch.from_numpy(nchw).to(device)
    module = module.to(device).eval()
    started = time.perf_counter()
    tracer_warnings = _save(method, module, example, trace, out)
    # Logged, not recorded: the sidecar is part of the artifact, which must not depend on timing.
    log.info("%s: exported in %.1f s", method.name, time.perf_counter() - started)
    for message in tracer_warnings:
        log.warning("tracer: %s", message)
    checked = verify(method, module, out, example, check_sizes(model, trace), trace, device)
    traced_shape = list(example.shape)
    fixed_shape = _accept(method, checked, trace, traced_shape, tracer_warnings)
    input_entry, output_entry = _tensors(model, checked, traced_shape, fixed_shape)
    return sidecar.TorchExport(
        format="aoti" if method is ExportMethod.aoti else "torchscript",
        method=method.name,
        layout="NCHW",
        inputs=[input_entry],
        outputs=[output_entry],
        traced_shape=traced_shape,
        traced_on=device,
        traced_max_abs_error=checked.traced_error,
        verified_sizes=checked.sizes,
        fixed_shape=fixed_shape,
        loads_on=checked.devices,
        tracer_warnings=tracer_warnings,
        torch=torch.__version__,
        twin_vs_tf=None,
    )
