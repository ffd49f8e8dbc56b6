"""Build the PyTorch twin and save/restore its state_dict (loaded with weights_only=True)."""

from pathlib import Path

from pipelines.config import ModelConfig
from pipelines.errors import PipelineError


def _target(model: ModelConfig) -> str:
    assert model.torch is not None, "model.torch is required while torch is in model.frameworks"
    return model.torch._target_


def build(model: ModelConfig):
    """Instantiate `model.torch._target_` with `model.arch`, in eval mode."""
    from hydra.utils import get_object

    try:
        builder = get_object(_target(model))
    except Exception as error:
        raise PipelineError(
            f"model.torch._target_={_target(model)!r} cannot be imported: {error}"
        ) from None
    return builder(**model.arch).eval()


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
            f"PyTorch weights {path} do not match the network {_target(model)}: {detail}"
        ) from None
    return module.eval()
