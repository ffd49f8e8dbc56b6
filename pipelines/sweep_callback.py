"""Hydra callback around a sweep: build shared stages first, write the sweep report last."""

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from pipelines.config import SweepConfig, Workspace
from pipelines.sweep import (
    RESULT,
    experiment_name,
    experiment_refs,
    pipeline_overrides,
    run_experiment,
)

log = logging.getLogger("ckpt2cpp.sweep")


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """The override list of every job of a sweep, as Hydra's basic sweeper will expand it."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    parsed = OverridesParser.create().parse_overrides(overrides)
    (batch,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return [list(job) for job in batch]


def remove_experiments(names: list[str]) -> None:
    """Forget earlier experiments with these names, so re-running a sweep replaces them (the
    run-cache still has their outputs, so nothing reruns)."""
    stale = sorted(set(names) & set(experiment_refs()))
    if stale:
        subprocess.run(["dvc", "exp", "remove", *stale], capture_output=True, check=False)


class SweepCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        settings = OmegaConf.to_object(config.sweep)
        assert isinstance(settings, SweepConfig)
        jobs = [pipeline_overrides(job) for job in expand_sweep(list(config.hydra.overrides.task))]
        remove_experiments([experiment_name(job) for job in jobs])
        if not (settings.prebuild and settings.workspace is Workspace.temp and len(jobs) > 1):
            return
        from pipelines.sweep_plan import shared_stage_runs

        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        for index, (overrides, targets) in enumerate(shared_stage_runs(jobs)):
            name = f"sweep-prebuild-{index}"
            log.info(
                "building %d stages shared by several jobs first (%s)",
                len(targets),
                ", ".join(overrides) or "defaults",
            )
            result = run_experiment(
                name, overrides, settings, sweep_dir / f"{name}.log", tuple(targets)
            )
            remove_experiments([name])
            if not result["ok"]:
                log.warning("prebuild failed (the jobs will report it):\n%s", result["error"])

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from pipelines.sweep_report import write_report

        sweep_dir = Path(config.hydra.sweep.dir)
        files = sorted(
            sweep_dir.glob(f"*/{RESULT}"),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1,
        )
        results = [json.loads(p.read_text()) for p in files]
        paths = write_report(results, Path("reports"), config.sweep.remote)
        log.info(
            "sweep of %d jobs: %d ok; report %s",
            len(results),
            sum(r["ok"] for r in results),
            paths[0],
        )
