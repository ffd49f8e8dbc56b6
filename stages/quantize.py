"""DVC stage `quantize@<mode>`: SavedModel -> artifacts/tflite/<mode>/model.tflite (+ model.json).

    python -m stages.quantize int8

The mode comes from the dvc.yaml matrix item; every other setting from params.yaml.
"""

import sys
from pathlib import Path

from pipelines import data, paths
from pipelines.config import Config, Framework, QuantMode
from pipelines.stage import run_stage, write_artifact


def parse_mode(argv: list[str]) -> QuantMode:
    allowed = ", ".join(QuantMode.__members__)
    if len(argv) != 1 or argv[0] not in QuantMode.__members__:
        raise SystemExit(f"usage: python -m stages.quantize MODE  (MODE: {allowed})")
    return QuantMode[argv[0]]


def main(cfg: Config, mode: QuantMode) -> None:
    def convert(artifact: Path) -> None:
        from pipelines.backends.tflite.export import FULL_INTEGER, quantize

        calibration = (
            data.load_calibration(paths.DATASET, cfg.quantize.calibration_samples)
            if mode in FULL_INTEGER
            else None
        )
        quantize(
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
    selected = parse_mode(sys.argv[1:])
    run_stage(f"quantize@{selected.name}", lambda cfg: main(cfg, selected))
