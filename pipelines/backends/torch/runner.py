"""PyTorch in Python: the eager twin (the torch reference), TorchScript, or an AOTInductor package."""

from pathlib import Path

import numpy as np

from pipelines import sidecar
from pipelines.backends.base import InputSpec
from pipelines.config import ModelConfig


def torch_input_spec(model: ModelConfig, recorded: sidecar.TorchExport | None = None) -> InputSpec:
    """What a PyTorch model takes: as an exported file's sidecar records it, else the configured
    input (an image: NCHW, any height and width)."""
    layout = "NCHW" if model.is_image else ""
    if recorded is not None:
        tensor = recorded["inputs"][0]
        return InputSpec(tensor["name"], tensor["shape"], (tensor["dtype"],), layout)
    dtypes = (model.input_dtype.value,)
    if not model.is_image:
        return InputSpec(model.input_name, list(model.input_shape), dtypes, layout)
    channels = model.input_shape[3]
    return InputSpec(model.input_name, [1, channels, -1, -1], dtypes, layout)


class _TorchRunner:
    runtime = "torch"

    def __init__(self, model_path: Path, model: ModelConfig):
        import torch  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model

    def _load(self):
        raise NotImplementedError

    def _input_spec(self) -> InputSpec:
        return torch_input_spec(self.model)

    def load(self, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.fn = self._load()
        self.input_spec = self._input_spec()

    def infer(self, sample: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.fn(torch.from_numpy(sample)).numpy()


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

    def _input_spec(self) -> InputSpec:
        return torch_input_spec(self.model, sidecar.find(self.path, sidecar.TorchExport))
