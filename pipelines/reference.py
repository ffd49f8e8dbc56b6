"""The reference models: train (or restore) them, record how good they are, and compare
exports and the PyTorch twin with them."""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from pipelines import data, jsonfile, metrics, paths, tensors
from pipelines.config import Config, ModelConfig, Task
from pipelines.errors import PipelineError
from pipelines.sidecar import TwinCheck
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)
Exported = TypeVar("Exported")


def predict_keras(keras_model, model: ModelConfig, inputs: Tensors, batch: int = 32) -> Tensors:
    """The Keras model's named outputs for the inputs, in batches."""
    from pipelines.backends.keras.loader import call_args

    return tensors.concat(
        [
            tensors.named(model.output_names, keras_model(call_args(model, part), training=False))
            for part in tensors.batches(inputs, batch)
        ]
    )


def torch_outputs(model: ModelConfig, values) -> Tensors:
    """A PyTorch network's return value as named arrays, image outputs of an image model NHWC."""
    found = tensors.named(model.output_names, values)
    return {
        name: a.transpose(0, 2, 3, 1) if model.is_image and a.ndim == 4 else a
        for name, a in found.items()
    }


def predict_torch(module, model: ModelConfig, inputs: Tensors, batch: int = 32) -> Tensors:
    """Run the PyTorch twin on the inputs as Keras takes them: image inputs go in NCHW and
    image outputs come back NHWC."""
    import torch

    parts = []
    with torch.inference_mode():
        for part in tensors.batches(tensors.to_layout(inputs, model.input_tensors, True), batch):
            values = module(*(torch.from_numpy(a) for a in part.values()))
            if isinstance(values, tuple | list):
                values = [v.numpy() for v in values]
            elif isinstance(values, dict):
                values = {k: v.numpy() for k, v in values.items()}
            else:
                values = values.numpy()
            parts.append(torch_outputs(model, values))
    return tensors.concat(parts)


def _keras_reference(cfg: Config, dataset: data.Dataset):
    from pipelines.backends.keras import loader

    if cfg.model.tf_checkpoint:
        log.info("restoring the Keras model from %s", cfg.model.tf_checkpoint)
        return loader.restore(cfg.model, Path(cfg.model.tf_checkpoint))
    from pipelines.train import fit_keras

    keras_model = loader.build(cfg.model)
    inputs, targets = _training_data(cfg, dataset, "model.tf_checkpoint")
    fit_keras(keras_model, inputs, targets, cfg.model.task, cfg.model.train)
    return keras_model


def _torch_reference(cfg: Config, dataset: data.Dataset, keras_model):
    from pipelines.backends.torch import loader

    if cfg.model.torch_weights:
        log.info("restoring the PyTorch model from %s", cfg.model.torch_weights)
        return loader.restore(cfg.model, Path(cfg.model.torch_weights))
    module = loader.build(cfg.model)
    if cfg.model.share_weights and keras_model is not None:
        from pipelines.models.port import keras_to_torch

        count = keras_to_torch(keras_model, module)
        log.info("ported %d layers of Keras weights into the PyTorch twin", count)
        return module.eval()
    from pipelines.train import fit_torch

    inputs, targets = _training_data(cfg, dataset, "model.torch_weights")
    fit_torch(module, inputs, targets, cfg.model.task, cfg.model.train)
    return module.eval()


def _training_data(cfg: Config, dataset: data.Dataset, key: str) -> tuple[np.ndarray, np.ndarray]:
    if dataset.train_inputs is None or dataset.train_targets is None:
        raise PipelineError(
            f"data.source={cfg.data.source.name} has no training data: set {key} to your trained weights"
        )
    return dataset.train_inputs, dataset.train_targets


def build_reference(cfg: Config, checkpoint_dir: Path, dataset_dir: Path) -> dict[str, Any]:
    """Write the reference checkpoint(s), reference outputs, evaluation set and a summary."""
    dataset = data.build(cfg.data, cfg.model)
    log.info(
        "data: %d evaluation samples of shapes %s",
        tensors.count(dataset.eval_inputs),
        {name: a.shape[1:] for name, a in dataset.eval_inputs.items()},
    )
    summary: dict[str, Any] = {"model": cfg.model.name, "task": cfg.model.task.name}
    keras_model = None
    if cfg.model.uses_tf:
        from pipelines.backends.keras import loader as keras_loader

        keras_model = _keras_reference(cfg, dataset)
        ckpt = checkpoint_dir / paths.TF_CHECKPOINT.relative_to(paths.CHECKPOINT)
        ckpt.parent.mkdir(parents=True)
        keras_loader.save(cfg.model, keras_model, ckpt)
        outputs = predict_keras(keras_model, cfg.model, dataset.eval_inputs)
        tensors.save(outputs, checkpoint_dir / paths.KERAS_REFERENCE.name)
        summary["tf"] = metrics.task_quality(
            cfg.model.task, tensors.first(outputs), dataset.eval_targets
        )
    if cfg.model.uses_torch:
        from pipelines.backends.torch import loader as torch_loader

        module = _torch_reference(cfg, dataset, keras_model)
        weights = checkpoint_dir / paths.TORCH_WEIGHTS.relative_to(paths.CHECKPOINT)
        weights.parent.mkdir(parents=True)
        torch_loader.save(module, weights)
        outputs = predict_torch(module, cfg.model, dataset.eval_inputs)
        summary["torch"] = metrics.task_quality(
            cfg.model.task, tensors.first(outputs), dataset.eval_targets
        )
    if cfg.model.task is Task.super_resolution and dataset.eval_targets is not None:
        from pipelines.data.photos import bicubic_upscale

        scale = int(cfg.model.arch.get("scale", 2))
        bicubic = bicubic_upscale(tensors.first(dataset.eval_inputs), scale)
        summary["bicubic"] = metrics.task_quality(cfg.model.task, bicubic, dataset.eval_targets)
    data.save(dataset, dataset_dir, cfg.data.source)
    jsonfile.write(checkpoint_dir / paths.TRAIN_SUMMARY.name, summary)
    return summary


def export_keras(
    model: ModelConfig,
    exporter: Callable[[Any, ModelConfig, Path, Tensors, Tensors], Exported],
    out: Path,
) -> Exported:
    """Restore the Keras reference written by the checkpoint stage and export it to `out` with
    `exporter`, which checks the export against the reference's outputs on the evaluation inputs."""
    from pipelines.backends.keras import loader

    keras_model = loader.restore(model, paths.TF_CHECKPOINT)
    inputs, _ = data.load_eval(paths.DATASET, model)
    return exporter(keras_model, model, out, inputs, predict_keras(keras_model, model, inputs))


def twin_check(model: ModelConfig, module, inputs: Tensors) -> TwinCheck | None:
    """How far the PyTorch twin is from the Keras reference outputs the checkpoint stage wrote
    for the evaluation `inputs`; None without a Keras reference."""
    if not (model.uses_tf and paths.KERAS_REFERENCE.is_file()):
        return None
    stats = metrics.tensor_errors(
        predict_torch(module, model, inputs), tensors.load(paths.KERAS_REFERENCE)
    )["all"]
    shared = model.share_weights and not model.torch_weights
    log.info(
        "PyTorch twin vs Keras reference (%s weights): max abs %.3g",
        "shared" if shared else "separately trained",
        stats["max_abs"],
    )
    return TwinCheck(
        shared_weights=shared,
        samples=tensors.count(inputs),
        max_abs=stats["max_abs"],
        mean_abs=stats["mean_abs"],
        rel=stats["rel"],
        min_atol=stats["min_atol"],
        min_rtol=stats["min_rtol"],
    )
