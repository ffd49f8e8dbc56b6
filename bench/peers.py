"""What a user could deploy instead: ONNX Runtime on the PyTorch model exported to ONNX, and
OpenVINO on that ONNX file and on the SavedModel, in float32 and in bfloat16.

Each peer is a Python runner of the one runner protocol (pipelines/backends/base.py), started as
`python -m pipelines.run --runtime bench.peers.<Runner>`, so peer cells take turns with the
pipeline's own cells in one interleaved run, on the same inputs and threads. Needs the `bench`
extra (`pip install -e '.[bench]'`); without it the benchmarks leave the peers out.
"""

import importlib.util
import logging
from pathlib import Path
from typing import Any

from pipelines import paths, tensors
from pipelines.backends.registry import KERAS_ORIGINAL, TORCH_ORIGINAL, Artifact
from pipelines.config import Config, Framework, InputLayout, ModelConfig
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)

PACKAGES = ("onnxruntime", "openvino")


def installed() -> bool:
    """Whether the `bench` extra is installed."""
    return all(importlib.util.find_spec(name) for name in PACKAGES)


class OnnxRuntimeRunner:
    """ONNX Runtime's CPU provider: `threads` intra-op threads, sequential, every graph
    optimization on."""

    runtime = "onnxruntime"

    def __init__(self, model_path: Path, model: ModelConfig):
        import onnxruntime  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model

    def load(self, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )

    def infer(self, sample: Tensors) -> Tensors:
        return tensors.named(self.model.output_names, self.session.run(None, sample))


class OpenVinoRunner:
    """OpenVINO's CPU plugin on an ONNX file or a SavedModel folder, compiled for the latency
    of one request on `threads` threads, in float32 (set explicitly: on a CPU with bf16 kernels
    OpenVINO otherwise picks bf16). Compiled again for each new input shape (the first run of
    a shape, which the warm-up runs absorb)."""

    runtime = "openvino"
    precision = "f32"

    def __init__(self, model_path: Path, model: ModelConfig):
        import openvino  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model

    def load(self, threads: int) -> None:
        import openvino as ov
        import openvino.properties as props
        import openvino.properties.hint as hints

        self.core = ov.Core()
        self.network = ov.convert_model(str(self.path))
        self.config = {
            props.inference_num_threads: threads,
            props.num_streams: 1,
            hints.performance_mode: hints.PerformanceMode.LATENCY,
            hints.enable_cpu_pinning: True,
            hints.inference_precision: getattr(ov.Type, self.precision),
        }
        self.requests: dict[tuple, Any] = {}

    def _request(self, arrays: list) -> Any:
        shapes = tuple(tuple(a.shape) for a in arrays)
        if shapes not in self.requests:
            self.network.reshape({i: list(s) for i, s in enumerate(shapes)})
            compiled = self.core.compile_model(self.network, "CPU", self.config)
            self.requests[shapes] = compiled.create_infer_request()
        return self.requests[shapes]

    def infer(self, sample: Tensors) -> Tensors:
        arrays = [sample[t.name] for t in self.model.input_tensors]
        results = self._request(arrays).infer(dict(enumerate(arrays)))
        return tensors.named(self.model.output_names, list(results.values()))


class OpenVinoBf16Runner(OpenVinoRunner):
    """OpenVINO computing in bfloat16 (AVX-512 BF16 or AMX kernels), float32 at its boundary."""

    precision = "bf16"


def export_onnx(cfg: Config, out: Path) -> Path:
    """The PyTorch model exported to ONNX at `out` (TorchScript-based exporter, opset 17), the
    image inputs' height and width dynamic."""
    import torch

    from pipelines.backends.torch import loader

    module = loader.restore(cfg.model, paths.TORCH_WEIGHTS).eval()
    example, axes = [], {}
    for t in cfg.model.input_tensors:
        shape = [1, *t.shape[1:]]
        if t.layout is InputLayout.image:
            shape = [1, t.shape[3], t.shape[1], t.shape[2]]
            axes[t.name] = {2: f"{t.name}_height", 3: f"{t.name}_width"}
        example.append(torch.zeros(shape, dtype=getattr(torch, t.dtype.value)))
    for name in cfg.model.output_names:
        axes[name] = {2: f"{name}_height", 3: f"{name}_width"} if cfg.model.is_image else {}
    torch.onnx.export(
        module,
        tuple(example),
        str(out),
        dynamo=False,
        input_names=[t.name for t in cfg.model.input_tensors],
        output_names=cfg.model.output_names,
        dynamic_axes={k: v for k, v in axes.items() if v},
        opset_version=17,
    )
    return out


def artifacts(cfg: Config, folder: Path) -> list[Artifact]:
    """The peer cells' artifacts: ONNX Runtime and OpenVINO (float32, bf16) on the ONNX export
    (written to `folder`, NCHW like PyTorch) and OpenVINO on the SavedModel (NHWC); none
    without the `bench` extra."""
    if not installed():
        log.warning("ONNX Runtime or OpenVINO missing: no peers (pip install -e '.[bench]')")
        return []
    onnx = export_onnx(cfg, folder / "model.onnx")
    runners = {
        "onnxruntime": (Framework.torch, onnx, OnnxRuntimeRunner),
        "openvino_onnx": (Framework.torch, onnx, OpenVinoRunner),
        "openvino_onnx_bf16": (Framework.torch, onnx, OpenVinoBf16Runner),
        "openvino_savedmodel": (Framework.tf, paths.SAVEDMODEL_DIR, OpenVinoRunner),
        "openvino_savedmodel_bf16": (Framework.tf, paths.SAVEDMODEL_DIR, OpenVinoBf16Runner),
    }
    return [
        Artifact(
            name=f"peer/{name}",
            kind=name,
            framework=framework,
            path=path,
            python_runner=f"{__name__}.{runner.__name__}",
            cpp_runtime=None,
            image=cfg.model.is_image,
        )
        for name, (framework, path, runner) in runners.items()
    ]


def original(framework: Framework) -> str:
    """The cell every artifact of `framework` is compared with."""
    return f"{TORCH_ORIGINAL if framework is Framework.torch else KERAS_ORIGINAL}@python"
