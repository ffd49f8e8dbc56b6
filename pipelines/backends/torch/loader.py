"""Build the PyTorch twin and save/restore its state_dict (loaded with weights_only=True); load
the files the trace stage exports."""

from pathlib import Path

from pipelines.config import Framework, ModelConfig
from pipelines.errors import PipelineError, first_sentence
from pipelines.models.builder import build_network, target


def build(model: ModelConfig):
    """The PyTorch twin of `model` in eval mode (weights freshly initialised)."""
    return build_network(model, Framework.torch).eval()


def save(module, path: Path) -> None:
    import torch

    torch.save(module.state_dict(), path)


def restore(model: ModelConfig, path: Path):
    """Build the twin and load weights on the CPU; any missing, extra or misshapen tensor fails."""
    if not Path(path).is_file():
        raise PipelineError(
            f"PyTorch weights {path} not found (run the checkpoint stage or fix model.torch_weights)"
        )
    module = build(model)
    state = _read_state_dict(path)
    problem = _mismatch(module.state_dict(), state) or _load_into(module, state)
    if problem is not None:
        raise PipelineError(
            f"PyTorch weights {path} do not match the network {target(model, Framework.torch)}: "
            f"{problem} (point model.torch_weights at weights of this network, or set "
            "model.torch._target_ and model.arch to the network that saved them)"
        )
    return module.eval()


def _read_state_dict(path: Path) -> dict:
    """`torch.load(path, weights_only=True)`, which must give a dict (a state_dict)."""
    import pickle
    import zipfile

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as error:
        raise PipelineError(
            f"PyTorch weights {path} are unreadable or corrupt: {_load_problem(error)} (rebuild "
            "them with the checkpoint stage, or point model.torch_weights at a file written by "
            "torch.save(module.state_dict(), path))"
        ) from error
    if not isinstance(state, dict):
        raise PipelineError(
            f"{path} holds a {type(state).__name__}, not a state_dict (save module.state_dict())"
        )
    return state


def _load_problem(error: Exception) -> str:
    """The gist of a torch.load failure: what weights_only=True refused, or the first sentence."""
    text = str(error)
    refused = "WeightsUnpickler error:"
    if refused in text:
        return f"weights_only=True refused it: {first_sentence(text.split(refused, 1)[1])}"
    return first_sentence(text) or "the file ends early"


def _mismatch(expected: dict, state: dict) -> str | None:
    """How `state` differs from the network's own state_dict `expected`: keys missing, keys
    unexpected, tensors of another shape (a few of each); None if it fits."""
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    misshapen = [
        f"{key} {_shape(state[key])} instead of {_shape(value)}"
        for key, value in expected.items()
        if key in state and _shape(state[key]) != _shape(value)
    ]
    parts = [
        f"{label} {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
        for label, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("other shapes", misshapen),
        )
        if keys
    ]
    return "; ".join(parts) or None


def _shape(value: object) -> list[int] | None:
    shape = getattr(value, "shape", None)
    return None if shape is None else list(shape)


def _load_into(module, state: dict) -> str | None:
    """Load `state` into `module` (strict); what went wrong, or None."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        return " ".join(str(error).split())[:300]
    return None


# What each exported file is, and what writes one, by suffix.
_EXPORTS = {
    ".pt": ("a TorchScript file", "torch.jit.save"),
    ".pt2": ("an AOTInductor package", "torch._inductor.aoti_compile_and_package"),
}


def load_export(path: Path, device: str = "cpu"):
    """Load a file the trace stage exported, for inference on `device`: TorchScript (.pt,
    remapped with map_location) or an AOTInductor package (.pt2, compiled for the CPU)."""
    import torch

    kind, writer = _EXPORTS[".pt2" if path.suffix == ".pt2" else ".pt"]
    if not path.is_file():
        raise PipelineError(f"{path} not found (run the trace stage, or fix the path)")
    try:
        if path.suffix == ".pt2":
            return torch._inductor.aoti_load_package(str(path))
        return torch.jit.load(str(path), map_location=device).eval()
    except (RuntimeError, ValueError) as error:
        raise PipelineError(
            f"{path} is not {kind}: {first_sentence(str(error))} (rebuild it with the trace "
            f"stage, or give a file that {writer} wrote)"
        ) from error
