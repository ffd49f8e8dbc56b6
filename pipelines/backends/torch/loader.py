"""Build the PyTorch twin and save/restore its state_dict (loaded with weights_only=True); load
the files the trace stage exports."""

from pathlib import Path

from pipelines.config import Framework, ModelConfig
from pipelines.errors import PipelineError
from pipelines.models.builder import build_network, target


def build(model: ModelConfig):
    """The PyTorch twin of `model` in eval mode (weights freshly initialised)."""
    return build_network(model, Framework.torch).eval()


def save(module, path: Path) -> None:
    import torch

    torch.save(module.state_dict(), path)


def restore(model: ModelConfig, path: Path):
    """Build the twin and load weights on the CPU; any missing, extra or misshapen tensor fails."""
    import pickle
    import zipfile

    import torch

    if not Path(path).is_file():
        raise PipelineError(
            f"PyTorch weights {path} not found (run the checkpoint stage or fix model.torch_weights)"
        )
    module = build(model)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as error:
        raise PipelineError(
            f"PyTorch weights {path} are unreadable or corrupt: {str(error).splitlines()[0]}"
        ) from None
    if not isinstance(state, dict):
        raise PipelineError(
            f"{path} holds a {type(state).__name__}, not a state_dict (save module.state_dict())"
        )
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        detail = " ".join(str(error).split())[:300]
        raise PipelineError(
            f"PyTorch weights {path} do not match the network {target(model, Framework.torch)}: {detail}"
        ) from None
    return module.eval()


def load_export(path: Path, device: str = "cpu"):
    """Load a file the trace stage exported, for inference on `device`: TorchScript (.pt,
    remapped with map_location) or an AOTInductor package (.pt2, compiled for the CPU)."""
    import torch

    if path.suffix == ".pt2":
        return torch._inductor.aoti_load_package(str(path))
    return torch.jit.load(str(path), map_location=device).eval()
