"""PyTorch twin -> TorchScript (trace or script) or an AOTInductor .pt2 package, verified.

Verification (verify.py) is what makes the original post's two traps impossible to miss:
- a trace that bakes the example's shape in (`int(x.shape[2]) * 2`) is run at other sizes and
  compared with eager PyTorch; a mismatch fails the stage and names `script`/`aoti` as the fix;
- the saved file is loaded back on the CPU (map_location) and scanned for hard-coded devices,
  and, where CUDA exists, traced on the GPU and proven to run on both.
"""

import logging
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pipelines import sidecar, tensors
from pipelines.backends.torch.verify import (
    Args,
    Verification,
    check_sizes,
    label,
    sizes_the_network_takes,
    verify,
)
from pipelines.config import ExportMethod, InputLayout, ModelConfig, TraceConfig
from pipelines.errors import NotApplicable, PipelineError, first_lines
from pipelines.tensors import Tensors

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


@dataclass(frozen=True)
class ExportJob:
    """One export: what is exported, how, and where it is written."""

    method: ExportMethod
    module: Any  # the network, on the device it is exported on
    model: ModelConfig
    trace: TraceConfig
    example: Args  # the traced inputs
    out: Path
    dynamic: bool  # AOTInductor: the image inputs' height and width stay dynamic
    calibration: list[Args] | None  # aoti_int8: the samples its activations are calibrated on


def _save(job: ExportJob) -> tuple[list[str], int]:
    """Write the artifact; return the tracer's warnings about shape or value specialisation,
    and the number height and width must be multiples of (1: any size)."""
    import torch

    graph_notes: list[str] = []
    multiple = 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if job.method is ExportMethod.trace:
            traced, graph_notes = _trace(job.module, job.example)
            torch.jit.save(traced, str(job.out))
        elif job.method is ExportMethod.script:
            try:
                scripted = torch.jit.script(job.module)
            except Exception as error:
                raise NotApplicable(
                    f"torch.jit.script cannot compile the network: {first_lines(error)} "
                    "(leave script out of trace.methods: trace and aoti export it another way)"
                ) from error
            torch.jit.save(scripted, str(job.out))
        else:
            multiple = _save_aoti(job)
    messages = [
        " ".join(str(w.message).split())
        for w in caught
        if issubclass(w.category, torch.jit.TracerWarning)
    ]
    return graph_notes + list(dict.fromkeys(messages)), multiple  # warnings once each, in order


def _rewrite_archive(path: Path, keep: Callable[[str, bytes], bytes | None]) -> None:
    """Rewrite a torch zip archive (TorchScript .pt, AOTInductor .pt2) with each record passed
    through `keep` (None drops it), in order, by torch's own writer (entries dated 1980, 64-byte
    aligned; .data/serialization_id recomputed from the records)."""
    import torch

    reader = torch._C.PyTorchFileReader(str(path))
    records = [(name, reader.get_record(name)) for name in reader.get_all_records()]
    del reader
    writer = torch._C.PyTorchFileWriter(str(path))  # the archive is named after the file
    for name, data in records:
        if name != ".data/serialization_id" and (kept := keep(name, data)) is not None:
            writer.write_record(name, kept, len(kept))
    writer.write_end_of_file()


def _without_debug_records(name: str, data: bytes) -> bytes | None:
    """TorchScript's `*.debug_pkl` records hold the Python call stack of every op, absolute
    paths included (this checkout's model code, the venv's torch): dropped. torch.jit.load and
    libtorch treat them as optional; TorchScript errors then cite the serialized code instead of
    the original Python lines. (Verification reads them first, to say where a hard-coded device
    comes from.)"""
    return None if name.endswith(".debug_pkl") else data


# Inductor appends the g++ lines it ran to the generated C++ it keeps, but only when it compiled
# (not when its cache already held the object), so the same package differed with the cache's
# state. The lines are comments at the end of the file; the compiled .so is the same either way.
COMPILE_NOTES = b"\n\n// Compile cmd\n"


def _without_compile_notes(name: str, data: bytes) -> bytes | None:
    return (
        data.split(COMPILE_NOTES)[0] + b"\n"
        if name.endswith(".cpp") and COMPILE_NOTES in data
        else data
    )


def _trace(module, example: Args) -> tuple[Any, list[str]]:
    """`torch.jit.trace`, judged by numbers, not by graph structure: the tracer's own check
    retraces and fails on any difference between the two graphs, which networks whose Python
    takes other (equivalent) paths on a second call produce (nn.TransformerEncoder does).
    Such a trace is kept, with a note, and the verification that follows compares its outputs
    with eager PyTorch at the traced size and at other sizes, which decides."""
    import torch

    try:
        return torch.jit.trace(module, example), []
    except torch.jit.TracingCheckError as error:
        note = (
            "the tracer's own check found the graph differs between two traces "
            f"({first_lines(error, 1)}); kept, judged by its outputs at several sizes"
        )
        log.warning("%s", note)
        return torch.jit.trace(module, example, check_trace=False), [note]


# Height and width multiples tried when any size fails: a network that halves its input and
# concatenates the upsampled result with a skip connection takes multiples of 2**levels only.
SIZE_MULTIPLES = (1, 2, 4, 8, 16, 32)


# freezing: fold the weights into the compiled graph as constants (and prepack int8 weights for
# oneDNN's quantized convolutions); Inductor skips it, silently, with autograd on.
# cpp.enable_kernel_profile: name every fused kernel and oneDNN call to torch.profiler (the
# evaluation's per-op profiles); without a profiler running it costs nothing measurable (sr
# 64x64, 6 alternating rounds: 0.97x the p50 of the package compiled without it).
# size_asserts off: the generated C++ names each fused op in its (AOTI_RUNTIME_CHECK_INPUTS
# only) size/stride assertions by the repr of a Python functools.partial, memory address
# included, which made every compile's source (so its hash-named files) differ.
AOTI_CONFIGS = {"freezing": True, "cpp.enable_kernel_profile": True, "size_asserts": False}


# aoti_int8's prepacked (oneDNN-layout) weights: Inductor writes each one's oneDNN memory
# descriptor into the generated C++ as bytes (torch.ops.mkldnn._get_mkldnn_serialized_md). With
# torch 2.13 (oneDNN 3.12) that 772-byte blob copies the descriptor struct with its padding, and
# the 4 bytes after data_type and after format_kind are whatever the stack held (the high half of
# an address): different on every run. They are never read back; zeroed here.
MKLDNN_MD_BLOB_BYTES = 772
MKLDNN_MD_PADDING = ((108, 112), (316, 320))
MKLDNN_MD_OP = "_get_mkldnn_serialized_md"  # in torch.ops.mkldnn


@contextmanager
def _zeroed_mkldnn_padding() -> Iterator[None]:
    """While Inductor compiles: oneDNN descriptor blobs with their padding bytes zeroed."""
    import torch

    namespace = torch.ops.mkldnn
    original = getattr(namespace, MKLDNN_MD_OP)

    class SerializedMd:  # the op, but for its result: .default and the rest are the op's own
        def __getattr__(self, name: str):
            return getattr(original, name)

        def __call__(self, tensor):
            blob = original(tensor)
            if blob.dim() == 1 and blob.numel() == MKLDNN_MD_BLOB_BYTES:
                blob = blob.clone()
                for start, end in MKLDNN_MD_PADDING:
                    blob[start:end] = 0
            return blob

    setattr(namespace, MKLDNN_MD_OP, SerializedMd())
    try:
        yield
    finally:
        setattr(namespace, MKLDNN_MD_OP, original)


def _forget_source_lines(program) -> None:
    """Drop the Python stack traces torch.export records on every node: Inductor writes them
    (absolute paths to this checkout's model code and the venv) into the generated C++ (kernel
    profile labels, comments) and so into the hashes that name the package's files."""
    import torch

    for module in program.graph_module.modules():
        if isinstance(module, torch.fx.GraphModule):
            for node in module.graph.nodes:
                node.meta.pop("stack_trace", None)


@contextmanager
def _torch_under_fixed_path() -> Iterator[None]:
    """While Inductor compiles: torch's headers and libraries named by a path that is the same
    in every checkout. Inductor puts `-I<torch>/include -L<torch>/lib` (from torch.utils.
    cpp_extension) into its compile command, which it hashes into the package's file names and
    writes into the generated C++ and .so; with the venv inside the checkout (`make setup`) that
    path names the checkout. The alias is a symlink in the temp folder to the real torch folder,
    made (or remade, when dangling) atomically."""
    import torch
    import torch.utils.cpp_extension as cpp_extension

    alias = os.path.join(tempfile.gettempdir(), f"ckpt2cpp-torch-{torch.__version__}")
    real = os.path.realpath(os.path.dirname(torch.__file__))
    if os.path.realpath(alias) != real:  # missing, dangling or another torch
        temporary = f"{alias}.{os.getpid()}"
        try:
            os.symlink(real, temporary)
            os.replace(temporary, alias)
        except OSError as error:  # another user's link, or a folder in the way: no alias
            log.warning("compiling with torch's own path (%s: %s)", alias, error)
            Path(temporary).unlink(missing_ok=True)
            yield
            return
    saved = cpp_extension._TORCH_PATH, cpp_extension.TORCH_LIB_PATH
    cpp_extension._TORCH_PATH, cpp_extension.TORCH_LIB_PATH = alias, os.path.join(alias, "lib")
    try:
        yield
    finally:
        cpp_extension._TORCH_PATH, cpp_extension.TORCH_LIB_PATH = saved


def _save_aoti(job: ExportJob) -> int:
    """Export with torch.export (quantized to int8 when the job has calibration samples) and
    compile with AOTInductor, freezing on; return the multiple height and width must be (see
    `_export_program`)."""
    import torch

    program, multiple = _export_program(job)
    if multiple > 1:
        log.info("aoti: height and width are multiples of %d (any size failed)", multiple)
    quantized = None if job.calibration is None else _int8_module(program, job.calibration)
    if quantized is not None:
        program = torch.export.export(quantized, job.example, strict=True)  # at the traced size
    _forget_source_lines(program)
    with torch.no_grad(), _zeroed_mkldnn_padding(), _torch_under_fixed_path():
        torch._inductor.aoti_compile_and_package(
            program, package_path=str(job.out), inductor_configs=AOTI_CONFIGS
        )
    _rewrite_archive(job.out, _without_compile_notes)
    if quantized is not None:
        _check_compiled_int8(job.out, quantized, job.example)
    return multiple


# Why aoti_int8 is compiled for the traced size only: compiled with dynamic height and width,
# Inductor's int8 lowering gave wrong outputs (the digits classifier: 15 % accuracy against 98 %
# for the same quantized program run eagerly; torch 2.13, torchao 0.18).
INT8_FIXED_SHAPE = (
    "aoti_int8 is compiled for the traced size: with dynamic height and width, Inductor's int8 "
    "lowering gave wrong outputs on a tested network"
)


def _has_vnni() -> bool:
    """Whether this CPU has int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI or AMX).
    Without them oneDNN multiplies u8 by s8 with VPMADDUBSW, whose int16 sums saturate: the
    quantizer must then keep activations to 7 bits (reduce_range), or the compiled package
    computes something else than its quantized program (seen on an AVX2-only AMD EPYC)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False  # unknown: the reduced range is right everywhere, at a small accuracy cost
    return any(flag in flags for flag in ("avx512_vnni", "avx_vnni", "amx_int8"))


def _int8_module(program, calibration: list[Args]):
    """PT2E post-training static quantization of an exported program for this CPU: the x86
    Inductor quantizer (u8 activations, 7-bit without VNNI; per-channel s8 weights; oneDNN int8
    kernels),
    calibrated on `calibration` (any sizes the program takes); the converted module."""
    import torch

    # torchao's import reports its CUDA extensions and Triton missing: expected on a CPU build
    for name in ("torchao", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    quantizer = X86InductorQuantizer()
    quantizer.set_global(get_default_x86_inductor_quantization_config(reduce_range=not _has_vnni()))
    prepared = prepare_pt2e(program.module(), quantizer)
    with torch.no_grad():
        for args in tqdm(calibration, desc="calibrate aoti_int8", unit="sample"):
            prepared(*args)
    return convert_pt2e(prepared)


def _check_compiled_int8(package: Path, quantized, example: Args) -> None:
    """The compiled package must compute what its quantized program computes run eagerly
    (oneDNN's int8 kernels round like the reference quantize/dequantize ops, to within about
    one quantization step)."""
    import torch

    from pipelines.backends.torch.loader import load_export

    with torch.no_grad():
        expected = [o.float() for o in _flat(quantized(*example))]
        actual = [o.float() for o in _flat(load_export(package)(*example))]
    scale = max(1.0, *(float(e.abs().max()) for e in expected))
    error = max(float((a - e).abs().max()) for a, e in zip(actual, expected, strict=True))
    if error > 0.02 * scale:
        raise NotApplicable(
            f"the compiled aoti_int8 package differs from its quantized program by {error:.3g} "
            "(an AOTInductor int8 lowering fault for this network: leave aoti_int8 out of "
            "trace.methods)"
        )


def _flat(out) -> list:
    found = list(out.values()) if isinstance(out, dict) else out
    return list(found) if isinstance(found, tuple | list) else [found]


def _export_program(job: ExportJob) -> tuple[Any, int]:
    """torch.export's program, with the image inputs' height and width dynamic (if the job says
    so) in steps of the smallest of SIZE_MULTIPLES that exports (and divides the traced sizes),
    and that step. Only a failure that names height or width tries the next step."""
    import torch

    images = [t.layout is InputLayout.image for t in job.model.input_tensors]
    sizes = [s for x, image in zip(job.example, images, strict=True) if image for s in x.shape[2:]]
    multiples = (
        [m for m in SIZE_MULTIPLES if all(s % m == 0 for s in sizes)] if job.dynamic else [1]
    )
    first_error: Exception | None = None
    for multiple in multiples:
        try:
            # strict=True (TorchDynamo) follows int(x.shape[2]) symbolically; non-strict
            # specialises it.
            dims = tuple(_size_dims(job.trace, multiple) if image else None for image in images)
            shapes = _packed(job.module, dims) if job.dynamic else None
            program = torch.export.export(
                job.module, job.example, dynamic_shapes=shapes, strict=True
            )
            return program, multiple
        except Exception as error:
            first_error = first_error or error
            if not any(name in str(error) for _, name in AXES):
                break  # not about the sizes: another step would fail the same way
    assert first_error is not None  # 1 is always tried
    how = "with dynamic height/width" if job.dynamic else "at its traced size"
    raise NotApplicable(
        f"torch.export cannot export the network {how}: {first_lines(first_error)} "
        "(make the failing op shape-generic, or leave aoti out of trace.methods)"
    ) from first_error


def _packed(module, dims: tuple) -> tuple:
    """torch.export's dynamic_shapes for `module`'s inputs: one tuple inside another where its
    forward takes them as `*args` (the bf16 boundary does)."""
    import inspect

    parameters = inspect.signature(module.forward).parameters.values()
    return (dims,) if any(p.kind is p.VAR_POSITIONAL for p in parameters) else dims


def _size_dims(trace: TraceConfig, multiple: int) -> dict[int, Any]:
    """torch.export's dynamic height (axis 2) and width (axis 3): any size from trace.min_size
    to trace.max_size, in steps of `multiple`."""
    from torch.export import Dim

    if multiple == 1:
        return {axis: Dim(name, min=trace.min_size, max=trace.max_size) for axis, name in AXES}
    low, high = -(-trace.min_size // multiple), trace.max_size // multiple
    return {axis: multiple * Dim(f"{name}_steps", min=low, max=high) for axis, name in AXES}


AXES = ((2, "height"), (3, "width"))


def _accept(job: ExportJob, checked: Verification, atol: float, tracer_warnings: list[str]) -> bool:
    """Fail on any verification problem that the job's trace config does not allow (errors
    above `atol`); return whether the export only works at the traced shape (a fixed-shape
    trace accepted by trace.allow_fixed_shape)."""
    method, trace = job.method, job.trace
    traced_shape = label(job.model, job.example)
    if not checked.traced_error <= atol:
        raise PipelineError(
            f"the {method.name} export differs from eager PyTorch by {checked.traced_error:.3g} > "
            f"{atol:.3g} ({_tolerance_key(method)}) at the traced size {traced_shape}"
        )
    pinned = checked.hard_coded_devices
    if pinned and all(" at torch/" in where for where in pinned):  # PyTorch's own layers
        raise NotApplicable(
            f"the {method.name} export hard-codes device(s) {pinned}, so it runs on that device "
            "only: PyTorch's layer creates the tensor under the tracer (a recurrent layer's "
            "initial state does); script and aoti keep the device symbolic"
        )
    if pinned:
        raise PipelineError(
            f"the {method.name} export hard-codes device(s) {pinned}, so it runs on that device "
            "only; create tensors with device=x.device in forward()"
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


def _tolerance_key(method: ExportMethod) -> str:
    """The trace key that sets how far an export may be from eager float32."""
    return "trace.bf16_rtol" if method is ExportMethod.aoti_bf16 else "trace.atol"


def _atol(method: ExportMethod, trace: TraceConfig, module, example: Args) -> float:
    """How far the export may be from eager float32: trace.atol; for aoti_bf16 trace.bf16_rtol
    of eager's largest output magnitude (at least 1); unbounded for aoti_int8, which cannot
    match float32 (it was checked against its quantized program, the evaluation judges it)."""
    import torch

    if method is ExportMethod.aoti_int8:
        return math.inf
    if method is not ExportMethod.aoti_bf16:
        return trace.atol
    with torch.inference_mode():
        outputs = _flat(module(*example))
    largest = max((float(o.abs().max()) for o in outputs if o.is_floating_point()), default=0.0)
    return trace.bf16_rtol * max(1.0, largest)


def _in_bfloat16(module):
    """A copy of `module` computing in bfloat16 behind a float32 boundary: real inputs are cast
    to bfloat16 on the way in and real outputs back to float32, so callers do not change."""
    import copy

    import torch
    from torch.utils import _pytree

    def to(dtype):
        return lambda t: t.to(dtype) if t.is_floating_point() else t

    class Bfloat16Boundary(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            outputs = self.inner(*(to(torch.bfloat16)(a) for a in args))
            return _pytree.tree_map(to(torch.float32), outputs)

    return Bfloat16Boundary(copy.deepcopy(module).to(torch.bfloat16)).eval()


def _varying(shapes: list[list[int]]) -> list[int]:
    """The first shape, with -1 wherever the shapes differ."""
    return [d if all(s[i] == d for s in shapes) else -1 for i, d in enumerate(shapes[0])]


def _tensors(
    model: ModelConfig, checked: Verification, example: Args, fixed_shape: bool
) -> tuple[list[sidecar.Tensor], list[sidecar.Tensor]]:
    """The input and output entries: batch 1, and the image inputs' height and width dynamic
    (-1, and the outputs' dimensions that follow them) unless the export only works at the
    traced shapes."""
    inputs = [
        sidecar.Tensor(
            name=t.name,
            dtype=t.dtype.value,
            shape=[1, int(x.shape[1]), -1, -1]
            if t.layout is InputLayout.image and not fixed_shape
            else list(x.shape),
        )
        for t, x in zip(model.input_tensors, example, strict=True)
    ]
    sizes = checked.eager_shapes[:1] if fixed_shape else checked.eager_shapes
    outputs = [
        sidecar.Tensor(name=name, dtype=dtype, shape=_varying([shapes[i] for shapes in sizes]))
        for i, (name, dtype) in enumerate(
            zip(model.output_names, checked.output_dtypes, strict=True)
        )
    ]
    return inputs, outputs


def _example(model: ModelConfig, samples: Tensors) -> Args:
    """The first sample of every input as PyTorch takes it: images NCHW, the rest as they are."""
    import torch

    # A fresh copy, not np.ascontiguousarray: with one channel the transposed view already counts
    # as contiguous but keeps odd strides, which AOTInductor would bake into the package.
    return tuple(
        torch.from_numpy(
            np.array(
                samples[t.name][:1].transpose(0, 3, 1, 2)
                if t.layout is InputLayout.image
                else samples[t.name][:1],
                order="C",
            )
        )
        for t in model.input_tensors
    )


def _each_sample(model: ModelConfig, samples: Tensors) -> list[Args]:
    """Every sample as PyTorch takes it (see `_example`)."""
    count = tensors.count(samples)
    return [_example(model, tensors.rows(samples, i, i + 1)) for i in range(count)]


def _other_sizes(module, model: ModelConfig, trace: TraceConfig, example: Args):
    """The inputs to verify besides the traced ones (with eager PyTorch's outputs), and why
    there are none where the network takes one size only or has no image input to resize."""
    if not model.is_image:
        return [], "no image input: exported and verified at the configured input shapes only"
    checks = check_sizes(model, trace, example)
    return sizes_the_network_takes(module.eval(), model, checks, label(model, example))


def export(
    method: ExportMethod,
    module,
    model: ModelConfig,
    trace: TraceConfig,
    samples: Tensors,
    out: Path,
    calibration: Tensors | None = None,
) -> sidecar.TorchExport:
    """Export `module` with `method` to `out`, verify it, and return its sidecar (without the
    twin check, which needs the Keras reference: `twin_vs_tf` is None)."""
    device = "cpu" if method.is_aoti else pick_device(trace.device)
    example = tuple(x.to(device) for x in _example(model, samples))
    checks, fixed_reason = _other_sizes(module, model, trace, example)
    if fixed_reason:
        log.info("%s: exported at that size only, other sizes not checked", fixed_reason)
    int8 = method is ExportMethod.aoti_int8
    if int8 and calibration is None:
        raise PipelineError("aoti_int8 needs calibration samples (the trace stage passes them)")
    module = module.to(device)
    job = ExportJob(
        method=method,
        module=_in_bfloat16(module) if method is ExportMethod.aoti_bf16 else module,
        model=model,
        trace=trace,
        example=example,
        out=out,
        dynamic=not fixed_reason,
        calibration=_each_sample(model, calibration) if int8 and calibration is not None else None,
    )
    started = time.perf_counter()
    tracer_warnings, size_multiple = _save(job)
    # Logged, not recorded: the sidecar is part of the artifact, which must not depend on timing.
    log.info("%s: exported in %.1f s", method.name, time.perf_counter() - started)
    for message in tracer_warnings:
        log.warning("tracer: %s", message)
    if int8:
        # compiled at the traced size; int8 cannot match eager float32 to trace.atol: the
        # package was checked against its quantized program, the evaluation judges its numbers
        checks, fixed_reason = [], fixed_reason or INT8_FIXED_SHAPE
    atol = _atol(method, trace, module, example)
    checked = verify(method, module, model, out, example, checks, atol, device)
    if method in (ExportMethod.aoti_int8, ExportMethod.aoti_bf16):
        log.info("%s: max abs error %.3g against eager float32", method.name, checked.traced_error)
    accepted_fixed = _accept(job, checked, atol, tracer_warnings)
    if not method.is_aoti:
        _rewrite_archive(out, _without_debug_records)
    return _describe(
        job, checked, device, tracer_warnings, size_multiple, fixed_reason, accepted_fixed
    )


def _describe(
    job: ExportJob,
    checked: Verification,
    device: str,
    tracer_warnings: list[str],
    size_multiple: int,
    fixed_reason: str,
    accepted_fixed: bool,
) -> sidecar.TorchExport:
    """The sidecar of a verified export."""
    import torch

    fixed_shape = accepted_fixed or bool(fixed_reason)
    input_entries, output_entries = _tensors(job.model, checked, job.example, fixed_shape)
    return sidecar.TorchExport(
        format="aoti" if job.method.is_aoti else "torchscript",
        method=job.method.name,
        layout="NCHW",
        inputs=input_entries,
        outputs=output_entries,
        traced_shape=label(job.model, job.example),
        traced_on=device,
        traced_max_abs_error=checked.traced_error,
        verified_sizes=checked.sizes,
        fixed_shape=fixed_shape,
        fixed_shape_reason=fixed_reason,
        size_multiple=size_multiple,
        loads_on=checked.devices,
        tracer_warnings=tracer_warnings,
        torch=torch.__version__,
        twin_vs_tf=None,
    )
