"""DVC stage `quantize@<mode>`: SavedModel -> artifacts/tflite/<mode>/model.tflite (+ model.json).

    python -m stages.quantize int8

The mode comes from the dvc.yaml matrix item; every other setting from params.yaml.
"""

import sys
from pathlib import Path

from pipelines import data, paths, sidecar
from pipelines.config import Config, Framework, QuantMode
from pipelines.stage import matrix_item, run_stage, write_artifact


def main(cfg: Config, mode: QuantMode) -> None:
    def convert(artifact: Path) -> sidecar.TFLite:
        from pipelines.backends.tflite.export import FULL_INTEGER, quantize

        calibration = (
            data.load_calibration(paths.DATASET, cfg.quantize.calibration_samples, cfg.model)
            if mode in FULL_INTEGER
            else None
        )
        return quantize(
            paths.SAVEDMODEL_DIR,
            mode,
            cfg.model,
            calibration,
            artifact,
            cfg.quantize.fail_if_ineffective,
        )

    write_artifact(
        cfg, paths.tflite_dir(mode), paths.tflite_model(mode).name, Framework.tf, convert
    )


if __name__ == "__main__":
    selected = matrix_item(sys.argv[1:], QuantMode, "quantize")
    run_stage(f"quantize@{selected.name}", lambda cfg: main(cfg, selected))
