"""Build the configured network for one framework: `model.<keras|torch>._target_(**model.arch)`."""

from typing import Any

from hydra.utils import get_object

from pipelines.config import Framework, ModelConfig
from pipelines.errors import PipelineError

BUILDER_KEYS = {Framework.tf: "keras", Framework.torch: "torch"}


def target(model: ModelConfig, framework: Framework) -> str:
    """The dotted name of the network builder configured for `framework`."""
    builder = model.keras if framework is Framework.tf else model.torch
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
    _check_signature(network, name, model, framework)
    return network


def _check_signature(network: Any, name: str, model: ModelConfig, framework: Framework) -> None:
    """Refuse, in one line, a network whose number of inputs (or, for Keras, outputs) differs
    from the config's, naming the keys that declare them."""
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
    configured = {"inputs": len(model.input_tensors), "outputs": len(model.output_names)}
    wrong = [kind for kind, count in counts.items() if count != configured[kind]]
    if wrong:
        kind = wrong[0]
        raise PipelineError(
            f"{name} builds a network with {counts[kind]} {kind} but the config declares "
            f"{configured[kind]} (list them in model.{kind}: "
            + (
                "name, shape, dtype and layout of each, and model.input_shape=null)"
                if kind == "inputs"
                else "their names, in the order the network returns them)"
            )
        )
