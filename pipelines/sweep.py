"""Sweep the pipeline with Hydra's multirun: one DVC experiment per job, jobs in parallel.

    python -m pipelines.sweep -m model=sr,digits evaluate.threads=1,2 [hydra.launcher.n_jobs=2]

Each job runs `dvc exp run --temp -n <name> -S <override> ...`: its own temporary workspace
(so parallel jobs never share a lock, HEAD or working tree), the shared DVC cache and run-cache
(so a job whose inputs were built before runs nothing), and an experiment named after its
overrides (so `dvc exp show` lists it with its params and metrics). Before fanning out, the
stages that two or more jobs share are built once. When every job is done, the sweep report
(reports/sweep.html and .csv) compares them.

`sweep.workspace=clone` is the scale-out mode for launchers that run jobs on other machines
(conf/hydra/launcher/*): each job clones the repository into a temporary folder, pulls what it
can from `sweep.remote`, runs there, and pushes its artifacts, run-cache and experiment back.
"""

import json
import logging
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pipelines.config import SweepConfig, Workspace
from pipelines.evaluate.cells import last_lines

log = logging.getLogger("ckpt2cpp.sweep")

RESULT = "result.json"
OWN_KEYS = ("sweep.", "hydra.", "hydra/")


def pipeline_overrides(overrides: list[str]) -> list[str]:
    """The overrides that change the pipeline (the sweep's own settings are not experiment params)."""
    return [o for o in overrides if not o.lstrip("+~").startswith(OWN_KEYS)]


def experiment_name(overrides: list[str]) -> str:
    """A git-ref-safe experiment name made of the overrides, e.g. `model=digits,evaluate.threads=2`."""
    name = ",".join(overrides) or "defaults"
    return re.sub(r"[^A-Za-z0-9._=,+-]+", "-", name).strip("-.")[:200]


def experiment_refs() -> dict[str, str]:
    """Every DVC experiment of this repository: name -> commit."""
    listed = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {
        ref.rsplit("/", 1)[1]: sha for ref, sha in (line.split() for line in listed.splitlines())
    }


def _dvc(
    args: list[str], cwd: Path | None = None, log_file: Path | None = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(["dvc", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if log_file is not None:
        with log_file.open("a") as handle:
            handle.write(f"$ dvc {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    return result


def run_experiment(
    name: str,
    overrides: list[str],
    settings: SweepConfig,
    log_file: Path,
    targets: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run one experiment; failures are returned, never raised, so other jobs go on."""
    started = time.perf_counter()
    set_params = [arg for o in overrides for arg in ("-S", o)]
    if settings.workspace is Workspace.clone:
        exit_code, output = _run_in_clone(name, set_params, settings, log_file, list(targets))
    else:
        result = _dvc(
            ["exp", "run", "--temp", "-n", name, *set_params, *targets], log_file=log_file
        )
        exit_code, output = result.returncode, result.stdout + result.stderr
    return {
        "name": name,
        "overrides": overrides,
        "ok": exit_code == 0,
        "exit_code": exit_code,
        "stages_run": [
            line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")
        ],
        "seconds": round(time.perf_counter() - started, 1),
        "error": None if exit_code == 0 else last_lines(output, 8),
    }


def _run_in_clone(
    name: str, set_params: list[str], settings: SweepConfig, log_file: Path, targets: list[str]
) -> tuple[int, str]:
    """The scale-out job: a fresh clone of the committed HEAD, sharing only the git origin and
    the DVC remote (its own cache, its own workspace, nothing of this checkout's).
    Returns the first failing exit code (or 0) and the output of every step."""
    origin = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-job-") as folder:
        workspace = Path(folder) / "repo"
        clone = subprocess.run(
            ["git", "clone", "-q", str(origin), str(workspace)], capture_output=True, text=True
        )
        if clone.returncode != 0:
            return clone.returncode, clone.stderr
        steps = [["remote", "default", "--local", settings.remote]] if settings.remote else []
        steps += [
            # everything HEAD's dvc.lock names; a missing object only means that stage reruns
            ["pull", "--allow-missing"],
            ["exp", "run", "--pull", "-n", name, *set_params, *targets],
            ["push", "--run-cache"],
            ["exp", "push", "origin", name],
        ]
        output = ""
        for args in steps:
            result = _dvc(args, cwd=workspace, log_file=log_file)
            output += result.stdout + result.stderr
            if result.returncode != 0:
                return result.returncode, output
        return 0, output


@hydra.main(version_base="1.3", config_path="../conf", config_name="multirun")
def main(cfg: DictConfig) -> dict[str, Any]:
    """One sweep job: run its experiment and leave result.json in the job's output folder."""
    hydra_cfg = HydraConfig.get()
    overrides = pipeline_overrides(list(hydra_cfg.overrides.task))
    settings = OmegaConf.to_object(cfg.sweep)
    assert isinstance(settings, SweepConfig)
    job_dir = Path(hydra_cfg.runtime.output_dir)
    result = run_experiment(experiment_name(overrides), overrides, settings, job_dir / "dvc.log")
    (job_dir / RESULT).write_text(json.dumps(result, indent=2) + "\n")
    status = "ok" if result["ok"] else f"FAILED (exit {result['exit_code']})"
    log.info(
        "%s: %s in %.0f s, ran %s",
        result["name"],
        status,
        result["seconds"],
        result["stages_run"] or "nothing",
    )
    return result


if __name__ == "__main__":
    main()
