"""The sweep's Hydra app: each job runs its overrides as one DVC experiment.

Hydra's launcher (conf/hydra/launcher/, joblib by default) runs the jobs; the callback
(pipelines.sweep.callback) builds what they share before and writes the report after.
"""

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pipelines.compose import CONF_DIR
from pipelines.config import SweepConfig
from pipelines.sweep.experiments import (
    JobResult,
    experiment_name,
    pipeline_overrides,
    run_experiment,
    write_result,
)

log = logging.getLogger("ckpt2cpp.sweep")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="multirun")
def main(cfg: DictConfig) -> JobResult:
    """One sweep job: run its experiment and leave result.json in the job's output folder."""
    hydra_cfg = HydraConfig.get()
    overrides = pipeline_overrides(list(hydra_cfg.overrides.task))
    settings = OmegaConf.to_object(cfg.sweep)
    assert isinstance(settings, SweepConfig)
    job_dir = Path(hydra_cfg.runtime.output_dir)
    result = run_experiment(experiment_name(overrides), overrides, settings, job_dir / "dvc.log")
    write_result(job_dir, result)
    status = "ok" if result["ok"] else f"FAILED (exit {result['exit_code']})"
    log.info(
        "%s: %s in %.0f s, ran %s",
        result["name"],
        status,
        result["seconds"],
        result["stages_run"] or "nothing",
    )
    return result
