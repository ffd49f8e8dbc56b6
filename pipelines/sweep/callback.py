"""Hydra callback around a sweep: build shared stages first, write the sweep report last."""

import itertools
import logging
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from pipelines.config import SweepConfig, Workspace
from pipelines.sweep.experiments import (
    experiment_name,
    pipeline_overrides,
    read_results,
    remove_experiments,
    run_experiment,
)

log = logging.getLogger("ckpt2cpp.sweep")


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """The override list of every job of a sweep, in the order Hydra's basic sweeper runs them:
    the product of each key's values, a key given twice keeping its first place and last value."""
    choices: dict[str, list[str]] = {}  # key -> its overrides, one per value
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        if not override.is_sweep_override():
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            raise ValueError(f"{key}: an interval cannot be swept; list the values or a range")
    return [list(job) for job in itertools.product(*choices.values())]


def _prebuild(settings: SweepConfig, jobs: list[list[str]], sweep_dir: Path) -> None:
    """Build every stage that two or more jobs share once, before the jobs fan out."""
    from pipelines.sweep.plan import shared_stage_runs  # DVC's index: only the sweep needs it

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


class SweepCallback(Callback):
    """Named in conf/multirun.yaml (hydra.callbacks.sweep)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        settings = OmegaConf.to_object(config.sweep)
        assert isinstance(settings, SweepConfig)
        jobs = [pipeline_overrides(job) for job in expand_sweep(list(config.hydra.overrides.task))]
        remove_experiments([experiment_name(job) for job in jobs])
        if settings.prebuild and settings.workspace is Workspace.temp and len(jobs) > 1:
            _prebuild(settings, jobs, Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from pipelines.sweep.report import write_report  # matplotlib: only the sweep needs it

        results = read_results(Path(config.hydra.sweep.dir))
        paths = write_report(results, Path("reports"), config.sweep.remote)
        log.info(
            "sweep of %d jobs: %d ok; report %s",
            len(results),
            sum(r["ok"] for r in results),
            paths[0],
        )
