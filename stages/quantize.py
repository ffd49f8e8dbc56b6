"""DVC stage `quantize@<mode>`: SavedModel -> artifacts/tflite/<mode>/model.tflite (+ model.json).

    python -m stages.quantize int8

The mode comes from the dvc.yaml matrix item; every other setting from params.yaml.
"""

import sys

from pipelines import data, paths, sidecar
from pipelines.atomic import atomic_path
from pipelines.backends.tflite.export import FULL_INTEGER
from pipelines.config import Config, ConfigError, QuantMode
from pipelines.stage import run_stage


def parse_mode(argv: list[str]) -> QuantMode:
    allowed = ", ".join(QuantMode.__members__)
    if len(argv) != 1 or argv[0] not in QuantMode.__members__:
        raise SystemExit(f"usage: python -m stages.quantize MODE  (MODE: {allowed})")
    return QuantMode[argv[0]]


def main(cfg: Config, mode: QuantMode) -> None:
    with atomic_path(paths.tflite_dir(mode)) as out:
        out.mkdir()
        artifact = out / paths.tflite_model(mode).name
        if not cfg.model.uses_tf:
            sidecar.write_skipped(artifact, "tf is not in model.frameworks")
            return
        reason = sidecar.skipped_reason(paths.SAVEDMODEL_DIR)
        if reason:
            raise ConfigError(f"the SavedModel was not built ({reason})")
        from pipelines.backends.tflite.export import quantize

        calibration = (
            data.load_calibration(paths.DATASET, cfg.quantize.calibration_samples)
            if mode in FULL_INTEGER
            else None
        )
        quantize(
            paths.SAVEDMODEL_DIR,
            mode,
            cfg.model.input_name,
            cfg.model.output_name,
            cfg.model.input_shape,
            calibration,
            artifact,
            cfg.quantize.fail_if_ineffective,
        )


if __name__ == "__main__":
    selected = parse_mode(sys.argv[1:])
    run_stage(f"quantize@{selected.name}", lambda cfg: main(cfg, selected))
