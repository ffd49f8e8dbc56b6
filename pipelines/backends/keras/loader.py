"""Build the Keras reference network and save/restore it as a tf.train.Checkpoint."""

import re
from pathlib import Path
from typing import Any

from pipelines.config import Framework, ModelConfig
from pipelines.errors import PipelineError, first_sentence
from pipelines.models.builder import build_network, target


def call_args(model: ModelConfig, inputs: dict):
    """What a Keras model is called with: its one input, or the list of them in config order."""
    arrays = [inputs[t.name] for t in model.input_tensors]
    return arrays[0] if len(arrays) == 1 else arrays


def build(model: ModelConfig):
    """The Keras network of `model` (weights freshly initialised)."""
    return build_network(model, Framework.tf)


def save(model: ModelConfig, keras_model, prefix: Path) -> None:
    """Write the weights as a tf.train.Checkpoint (`<prefix>.index` + `<prefix>.data-*`).

    A compiled model drags its optimizer state into the checkpoint; copying the weights into a
    freshly built network keeps the checkpoint to what inference needs.
    """
    import tensorflow as tf

    clean = build(model)
    clean.set_weights(keras_model.get_weights())
    tf.train.Checkpoint(model=clean).write(str(prefix))


def restore(model: ModelConfig, prefix: Path):
    """Build the network and load a checkpoint into it, failing if any weight is missing or
    has the wrong shape."""
    import tensorflow as tf

    if not Path(f"{prefix}.index").is_file():
        raise PipelineError(
            f"TF checkpoint {prefix} not found ({prefix}.index is missing; run the checkpoint "
            "stage or fix model.tf_checkpoint)"
        )
    keras_model = build(model)
    try:
        status = tf.train.Checkpoint(model=keras_model).read(str(prefix))
        _assert_matched(status)
    except (AssertionError, ValueError) as error:
        raise PipelineError(
            f"TF checkpoint {prefix} does not match the network {target(model, Framework.tf)}: "
            f"{_mismatch(error)} (point model.tf_checkpoint at a checkpoint of this network, or "
            "set model.keras._target_ and model.arch to the network that wrote it)"
        ) from error
    except (tf.errors.OpError, IndexError, OSError) as error:  # truncated or foreign files
        message = first_sentence(getattr(error, "message", str(error)))
        raise PipelineError(
            f"TF checkpoint {prefix} is unreadable or corrupt: {message} (rebuild it with the "
            "checkpoint stage, or point model.tf_checkpoint at a tf.train.Checkpoint prefix)"
        ) from error
    return keras_model


def _assert_matched(status: Any) -> None:
    """Fail if a weight of the network found no value in the checkpoint; on failure, tell TF
    the partial restore is expected (so it logs no warnings about it as it exits)."""
    try:
        status.assert_existing_objects_matched()
    except AssertionError:
        status.expect_partial()
        raise


def _mismatch(error: Exception) -> str:
    """What TF's restore error says, in short: the weights left without a value (TF lists them
    as `<Variable path=..., shape=..., value=...>`, in no set order), or its first sentence."""
    text = " ".join(str(error).split())
    unmatched = sorted(re.findall(r"<Variable path=([^,]+), shape=(\([^)]*\))", text))
    if unmatched:
        names = ", ".join(f"{name} {shape}" for name, shape in unmatched[:4])
        return f"{len(unmatched)} of its weights have no value in the checkpoint: {names}"
    return first_sentence(text)[:300]
