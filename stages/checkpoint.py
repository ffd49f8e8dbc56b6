"""DVC stage `checkpoint`: train (or restore) the reference model in Keras and/or PyTorch.

Writes artifacts/checkpoint/ (tf.train.Checkpoint, PyTorch state_dict, reference outputs,
summary.json) and artifacts/dataset/ (held-out evaluation set, calibration samples).
"""

import logging

from pipelines import paths
from pipelines.atomic import atomic_outputs
from pipelines.config import Config
from pipelines.reference import build_reference
from pipelines.stage import run_stage

log = logging.getLogger("ckpt2cpp.checkpoint")


def main(cfg: Config) -> None:
    with atomic_outputs(paths.CHECKPOINT, paths.DATASET) as (checkpoint_dir, dataset_dir):
        checkpoint_dir.mkdir()
        summary = build_reference(cfg, checkpoint_dir, dataset_dir)
    log.info("reference quality on the evaluation set: %s", summary)


if __name__ == "__main__":
    run_stage("checkpoint", main)
