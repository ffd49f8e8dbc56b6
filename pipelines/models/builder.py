"""Build the configured network for one framework: `model.<keras|torch>._target_(**model.arch)`."""

from typing import Any

from hydra.utils import get_object

from pipelines.config import Framework, ModelConfig
from pipelines.errors import PipelineError

BUILDER_KEYS = {Framework.tf: "keras", Framework.torch: "torch"}


def target(model: ModelConfig, framework: Framework) -> str:
    """The dotted name of the network builder configured for `framework`."""
    builder = getattr(model, BUILDER_KEYS[framework])
    assert builder is not None, f"model.{BUILDER_KEYS[framework]} is checked by ModelConfig.check"
    return builder._target_


def seed(framework: Framework, value: int) -> None:
    """Seed the generators `framework` draws initial weights and shuffles from."""
    if framework is Framework.tf:
        import keras

        keras.utils.set_random_seed(value)  # Python, NumPy, TensorFlow and Keras
    else:
        import torch

        torch.manual_seed(value)


def build_network(model: ModelConfig, framework: Framework) -> Any:
    """Import the configured builder and call it with `model.arch`, its initial weights drawn
    from generators seeded with `model.train.seed` (the same config builds the same network,
    so two clean trainings write the same bytes)."""
    name = target(model, framework)
    try:
        builder = get_object(name)
    except Exception as error:  # ImportError, AttributeError, or an error inside the module
        raise PipelineError(
            f"model.{BUILDER_KEYS[framework]}._target_={name!r} cannot be imported: {error}"
        ) from error  # CKPT2CPP_DEBUG=1 shows where inside the module it failed
    seed(framework, model.train.seed)
    network = builder(**model.arch)
    _check_one_input_one_output(network, name, framework)
    return network


def _check_one_input_one_output(network: Any, name: str, framework: Framework) -> None:
    """Refuse, in one line, a network with several inputs or outputs (not supported yet)."""
    if framework is Framework.tf:
        counts = {
            "inputs": len(getattr(network, "inputs", None) or [None]),
            "outputs": len(getattr(network, "outputs", None) or [None]),
        }
    else:
        import inspect

        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        parameters = inspect.signature(network.forward).parameters.values()
        required = [p for p in parameters if p.kind in positional and p.default is p.empty]
        counts = {"inputs": len(required)}
    several = {kind: count for kind, count in counts.items() if count > 1}
    if several:
        what = " and ".join(f"{count} {kind}" for kind, count in several.items())
        raise PipelineError(
            f"{name} builds a network with {what}: ckpt2cpp takes one input and one output "
            "(wrap the network so that it takes one tensor, e.g. the inputs concatenated, and "
            "returns one)"
        )
