"""Build the Keras reference network and save/restore it as a tf.train.Checkpoint."""

from pathlib import Path

from pipelines.config import Framework, ModelConfig
from pipelines.errors import PipelineError
from pipelines.models.builder import build_network, target


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
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        detail = " ".join(str(error).split())[:300]
        raise PipelineError(
            f"TF checkpoint {prefix} does not match the network {target(model, Framework.tf)}: {detail}"
        ) from None
    except (tf.errors.OpError, IndexError, OSError) as error:  # truncated or foreign files
        message = getattr(error, "message", str(error)).splitlines()[0]
        raise PipelineError(
            f"TF checkpoint {prefix} is unreadable or corrupt: {message} (rebuild it with the "
            "checkpoint stage, or point model.tf_checkpoint at a tf.train.Checkpoint prefix)"
        ) from None
    return keras_model
