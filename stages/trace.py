"""DVC stage `trace@<method>`: PyTorch weights -> artifacts/torch/<method>/model.pt|.pt2 (+ model.json).

    python -m stages.trace trace|script|aoti

The method comes from the dvc.yaml matrix item; every other setting from params.yaml.
"""

import logging
import sys
from pathlib import Path

import numpy as np

from pipelines import data, metrics, paths, sidecar
from pipelines.config import Config, ExportMethod, Framework
from pipelines.stage import matrix_item, run_stage, write_artifact

log = logging.getLogger("ckpt2cpp.trace")


def twin_check(cfg: Config, module, inputs: np.ndarray) -> dict | None:
    """How far the PyTorch twin is from the Keras reference on the evaluation inputs."""
    if not (cfg.model.uses_tf and paths.KERAS_REFERENCE.is_file()):
        return None
    from pipelines.reference import predict_torch

    stats = metrics.error_stats(predict_torch(module, inputs), np.load(paths.KERAS_REFERENCE))
    shared = cfg.model.share_weights and not cfg.model.torch_weights
    log.info(
        "PyTorch twin vs Keras reference (%s weights): max abs %.3g",
        "shared" if shared else "separately trained",
        stats["max_abs"],
    )
    return {"shared_weights": shared, "samples": len(inputs), **stats}


def main(cfg: Config, method: ExportMethod) -> None:
    def export(artifact: Path) -> None:
        from pipelines.backends.torch import export, loader

        module = loader.restore(cfg.model, paths.TORCH_WEIGHTS)
        inputs, _ = data.load_eval(paths.DATASET)
        twin = twin_check(cfg, module, inputs)
        info = export.export(method, module, cfg.model, cfg.trace, inputs, artifact)
        info["twin_vs_tf"] = twin
        sidecar.write(artifact, info)
        log.info(
            "%s: max abs error %.3g at the traced size; verified at %s in %.1f s",
            method.name,
            info["traced_max_abs_error"],
            [s["shape"] for s in info["verified_sizes"]],
            info["export_seconds"],
        )

    write_artifact(
        cfg, paths.torch_dir(method), paths.torch_model(method).name, Framework.torch, export
    )


if __name__ == "__main__":
    selected = matrix_item(sys.argv[1:], ExportMethod, "trace")
    run_stage(f"trace@{selected.name}", lambda cfg: main(cfg, selected))
