"""DVC stage `quantize@<mode>`: SavedModel -> artifacts/tflite/<mode>/model.tflite (+ model.json).

    python -m stages.quantize int8

The mode comes from the dvc.yaml matrix item; every other setting from params.yaml.
"""

import sys
from dataclasses import replace
from pathlib import Path

from pipelines import data, paths, sidecar
from pipelines.config import Config, Framework, QuantMode
from pipelines.stage import matrix_item, run_stage, write_artifact


def main(cfg: Config, mode: QuantMode) -> None:
    def convert(artifact: Path) -> sidecar.TFLite:
        from pipelines.backends.tflite.export import CALIBRATED, QuantizeData, quantize

        quantize_data = QuantizeData(evaluate=cfg.evaluate)
        if mode in CALIBRATED:
            calibration = data.load_calibration(
                paths.DATASET, cfg.quantize.calibration_samples, cfg.model
            )
            quantize_data = replace(quantize_data, calibration=calibration)
        if mode is QuantMode.int8_selective:
            held_out, targets = data.load_eval(paths.DATASET, cfg.model)
            quantize_data = replace(quantize_data, held_out=held_out, targets=targets)
        return quantize(
            paths.SAVEDMODEL_DIR,
            mode,
            cfg.model,
            quantize_data,
            artifact,
            cfg.quantize.fail_if_ineffective,
        )

    write_artifact(
        cfg, paths.tflite_dir(mode), paths.tflite_model(mode).name, Framework.tf, convert
    )


if __name__ == "__main__":
    selected = matrix_item(sys.argv[1:], QuantMode, "quantize")
    run_stage(f"quantize@{selected.name}", lambda cfg: main(cfg, selected))
