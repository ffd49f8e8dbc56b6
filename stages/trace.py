"""DVC stage `trace@<method>`: PyTorch weights -> artifacts/torch/<method>/model.pt|.pt2 (+ model.json).

    python -m stages.trace trace|script|aoti|aoti_int8|aoti_bf16

The method comes from the dvc.yaml matrix item; every other setting from params.yaml.
"""

import logging
import sys
from pathlib import Path

from pipelines import data, paths, sidecar
from pipelines.config import Config, ExportMethod, Framework
from pipelines.reference import twin_check
from pipelines.stage import matrix_item, run_stage, write_artifact

log = logging.getLogger("ckpt2cpp.trace")


def main(cfg: Config, method: ExportMethod) -> None:
    def build(artifact: Path) -> sidecar.TorchExport:
        from pipelines.backends.torch import export, loader

        module = loader.restore(cfg.model, paths.TORCH_WEIGHTS)
        inputs, _ = data.load_eval(paths.DATASET, cfg.model)
        twin = twin_check(cfg.model, module, inputs)
        calibration = (
            data.load_calibration(paths.DATASET, cfg.trace.calibration_samples, cfg.model)
            if method is ExportMethod.aoti_int8
            else None
        )
        info = export.export(method, module, cfg.model, cfg.trace, inputs, artifact, calibration)
        info["twin_vs_tf"] = twin
        log.info(
            "%s: max abs error %.3g at the traced size; verified at %s",
            method.name,
            info["traced_max_abs_error"],
            [s["shape"] for s in info["verified_sizes"]],
        )
        return info

    write_artifact(
        cfg, paths.torch_dir(method), paths.torch_model(method).name, Framework.torch, build
    )


if __name__ == "__main__":
    selected = matrix_item(sys.argv[1:], ExportMethod, "trace")
    run_stage(f"trace@{selected.name}", lambda cfg: main(cfg, selected))
