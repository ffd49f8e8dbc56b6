"""Run, list and remove the DVC experiments of a sweep, one experiment per job.

A job runs `dvc exp run --temp -n <name> -S <override> ...`: its own temporary workspace (so
parallel jobs never share a lock, HEAD or working tree), the shared DVC cache and run-cache (so a
job whose inputs were built before runs nothing), and a name made of its overrides (so
`dvc exp show` lists it with its params and metrics). With `sweep.workspace=clone` a job clones
the repository instead, pulls what it can from `sweep.remote`, runs there, and pushes its
artifacts, run-cache and experiment back.
"""

import hashlib
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TypedDict

from dvc.repo import Repo

from pipelines.config import SweepConfig, Workspace
from pipelines.pages.text import last_lines

RESULT = "result.json"
OWN_KEYS = ("sweep.", "hydra.", "hydra/")


class JobResult(TypedDict):
    """What one job did, as the job leaves it in its result.json."""

    name: str
    overrides: list[str]
    ok: bool
    exit_code: int
    stages_run: list[str]
    seconds: float
    started: float  # wall-clock time (time.time()) the experiment started and finished
    finished: float
    error: str | None


def pipeline_overrides(overrides: list[str]) -> list[str]:
    """The overrides that change the pipeline (the sweep's own settings are not experiment params)."""
    return [o for o in overrides if not o.lstrip("+~").startswith(OWN_KEYS)]


MAX_NAME = 200


def experiment_name(overrides: list[str]) -> str:
    """A git-ref-safe experiment name made of the overrides, e.g. `model=digits,evaluate.threads=2`.
    A name longer than MAX_NAME keeps its start and ends in a hash of the whole, so two jobs
    that differ only after the cut never share a name (nor overwrite each other's experiment)."""
    name = re.sub(r"[^A-Za-z0-9._=,+-]+", "-", ",".join(overrides) or "defaults").strip("-.")
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME - len(digest) - 1].rstrip('-.')}-{digest}"


def _by_name(repo: Repo) -> dict[str, str]:
    listed = repo.experiments.ls()  # baseline -> [(name, commit)], HEAD's baseline only
    return {name: commit for found in listed.values() for name, commit in found if commit}


def list_experiments() -> dict[str, str]:
    """The experiments based on HEAD, as `dvc exp list` finds them: name -> commit."""
    with Repo() as repo:
        return _by_name(repo)


def remove_experiments(names: list[str]) -> None:
    """Forget earlier experiments with these names, so re-running a sweep replaces them (the
    run-cache still has their outputs, so nothing reruns)."""
    with Repo() as repo:
        stale = sorted(set(names) & set(_by_name(repo)))
        if stale:
            repo.experiments.remove(exp_names=stale)


def stages_run(output: str) -> list[str]:
    """The stages a `dvc exp run` log ran (restored ones excluded): DVC says which stages it ran
    only in its log, one `Running stage '<name>':` line each."""
    return [
        line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")
    ]


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
) -> JobResult:
    """Run one experiment; failures are returned, never raised, so other jobs go on."""
    started = time.time()
    set_params = [arg for o in overrides for arg in ("-S", o)]
    if settings.workspace is Workspace.clone:
        exit_code, output = _run_in_clone(name, set_params, settings, log_file, list(targets))
    else:
        result = _dvc(
            ["exp", "run", "--temp", "-n", name, *set_params, *targets], log_file=log_file
        )
        exit_code, output = result.returncode, result.stdout + result.stderr
    finished = time.time()
    return JobResult(
        name=name,
        overrides=overrides,
        ok=exit_code == 0,
        exit_code=exit_code,
        stages_run=stages_run(output),
        seconds=round(finished - started, 1),
        started=started,
        finished=finished,
        error=None if exit_code == 0 else last_lines(output, 8),
    )


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


def write_result(job_dir: Path, result: JobResult) -> None:
    """Leave a job's result in its Hydra output folder, where the callback collects it."""
    (job_dir / RESULT).write_text(json.dumps(result, indent=2) + "\n")


def read_results(sweep_dir: Path) -> list[JobResult]:
    """The results the jobs of a sweep left, in job order."""
    files = sorted(
        sweep_dir.glob(f"*/{RESULT}"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1,
    )
    return [json.loads(p.read_text()) for p in files]
