"""PyTorch in Python: the eager twin (the torch reference), TorchScript, or an AOTInductor package."""

from pathlib import Path

from pipelines import sidecar, tensors
from pipelines.backends.base import InputSpec, OpTime
from pipelines.config import InputLayout, ModelConfig
from pipelines.tensors import Tensors


def torch_input_specs(
    model: ModelConfig, recorded: sidecar.TorchExport | None = None
) -> list[InputSpec]:
    """What a PyTorch model takes: as an exported file's sidecar records it, else the configured
    inputs (an image: NCHW, any height and width)."""
    specs = []
    for i, t in enumerate(model.input_tensors):
        image = t.layout is InputLayout.image
        layout = "NCHW" if image else ""
        if recorded is not None:
            entry = recorded["inputs"][i]
            specs.append(InputSpec(entry["name"], entry["shape"], (entry["dtype"],), layout))
            continue
        shape = [1, t.shape[3], -1, -1] if image else list(t.shape)
        specs.append(InputSpec(t.name, shape, (t.dtype.value,), layout))
    return specs


class _TorchRunner:
    runtime = "torch"

    def __init__(self, model_path: Path, model: ModelConfig):
        import torch  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model

    def _load(self):
        raise NotImplementedError

    def _input_specs(self) -> list[InputSpec]:
        return torch_input_specs(self.model)

    def load(self, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.fn = self._load()
        self.input_specs = self._input_specs()

    def infer(self, sample: Tensors) -> Tensors:
        import torch

        args = (torch.from_numpy(sample[t.name]) for t in self.model.input_tensors)
        with torch.inference_mode():
            out = self.fn(*args)
        return tensors.named(self.model.output_names, out, convert=lambda t: t.numpy())


class TorchEagerRunner(_TorchRunner):
    def _load(self):
        from pipelines.backends.torch import loader

        return loader.restore(self.model, self.path)


class TorchExportRunner(_TorchRunner):
    """A file the trace stage exported: TorchScript (.pt, loaded with map_location=cpu) or an
    AOTInductor package (.pt2)."""

    def _load(self):
        from pipelines.backends.torch import loader

        return loader.load_export(self.path, "cpu")

    def _input_specs(self) -> list[InputSpec]:
        return torch_input_specs(self.model, sidecar.find(self.path, sidecar.TorchExport))

    profiler = (
        "torch.profiler, self CPU time per event (AOTInductor packages name each fused "
        "kernel and oneDNN call: they are compiled with cpp.enable_kernel_profile)"
    )

    def profile(self, samples: list[Tensors], runs: int) -> list[OpTime]:
        import torch
        from torch.profiler import ProfilerActivity, profile

        calls = [
            tuple(torch.from_numpy(s[t.name]) for t in self.model.input_tensors) for s in samples
        ]
        with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as found:
            for k in range(runs):
                self.fn(*calls[k % len(calls)])
        return [
            OpTime(name=e.key, kind=e.key, ms=e.self_cpu_time_total / runs / 1e3)
            for e in found.key_averages()
            if e.self_cpu_time_total > 0
        ]
