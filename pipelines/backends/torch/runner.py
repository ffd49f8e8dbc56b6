"""PyTorch in Python: the eager twin (the torch reference), TorchScript, or an AOTInductor package."""

from pathlib import Path

import numpy as np

from pipelines.config import ModelConfig


class _TorchRunner:
    runtime = "torch"

    def __init__(self, model_path: Path, model: ModelConfig):
        import torch  # noqa: F401  (imported here so load_ms times the model, not the import)

        self.path, self.model = model_path, model

    def _load(self):
        raise NotImplementedError

    def load(self, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.fn = self._load()

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
