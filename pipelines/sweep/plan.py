"""Which stages do the jobs of a sweep share? Those are built once, before the jobs fan out.

DVC's run-cache keys a stage on its command, its dependencies, its outputs and the values of
the params it lists. Two jobs therefore share a stage when, under their composed params, all of
these are equal and all its upstream stages are shared too. DVC itself resolves dvc.yaml under
each job's params (matrix, foreach, `${...}`, vars from params.yaml) and builds the graph, in a
scratch folder that holds only dvc.yaml and the job's params.yaml; nothing runs. A dvc.yaml this
cannot resolve (vars or params from other files) stops the sweep with one line.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dvc.dependency import ParamsDependency
from dvc.exceptions import DvcException
from dvc.repo import Repo
from dvc.stage import Stage

from pipelines.compose import compose, to_params_yaml
from pipelines.errors import PipelineError


class PlanError(PipelineError):
    """dvc.yaml uses something the sweep's plan cannot resolve in its scratch folder."""


def _signature(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def signatures(repo: Repo) -> dict[str, str]:
    """Stage name -> a hash of everything the run-cache keys the stage on, upstream included,
    for the pipeline of `repo` (in dvc.yaml's order)."""
    graph = repo.index.graph  # an edge runs from a stage to each stage it depends on
    found: dict[Stage, str] = {}

    def sign(stage: Stage) -> str:
        if stage not in found:
            params = [d for d in stage.deps if isinstance(d, ParamsDependency)]
            found[stage] = _signature(
                {
                    "cmd": stage.cmd,
                    "deps": sorted(d.def_path for d in stage.deps if d not in params),
                    "params": [d.read_params() for d in params],
                    "outs": sorted(o.def_path for o in stage.outs),
                    "upstream": sorted(sign(up) for up in graph.successors(stage)),
                }
            )
        return found[stage]

    return {stage.name: sign(stage) for stage in repo.index.stages}


def job_signatures(overrides: list[str], dvc_yaml: Path) -> dict[str, str]:
    """The stage signatures of one job: dvc.yaml resolved by DVC under the job's composition."""
    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-plan-") as folder:
        shutil.copyfile(dvc_yaml, Path(folder) / "dvc.yaml")
        (Path(folder) / "params.yaml").write_text(to_params_yaml(compose(overrides)))
        try:
            with Repo(folder, uninitialized=True) as repo:
                return signatures(repo)
        except (DvcException, OSError) as error:
            # DVC names the scratch copies; name the project's files instead
            reason = " ".join(str(error).replace(os.path.relpath(folder) + os.sep, "").split())
            raise PlanError(
                f"the sweep cannot plan {dvc_yaml} from dvc.yaml and params.yaml alone ({reason}):"
                " run it with sweep.prebuild=false"
            ) from error


def shared_stage_runs(
    jobs: list[list[str]], dvc_yaml: Path = Path("dvc.yaml")
) -> list[tuple[list[str], list[str]]]:
    """(overrides, stages) pairs to run before the sweep so every stage that two or more jobs
    share is built exactly once; empty when the jobs share nothing."""
    per_job = [job_signatures(overrides, dvc_yaml) for overrides in jobs]
    counts: dict[str, int] = {}
    for job in per_job:
        for signature in set(job.values()):
            counts[signature] = counts.get(signature, 0) + 1
    covered: set[str] = set()
    runs = []
    for overrides, job in zip(jobs, per_job, strict=True):
        targets = [name for name, sig in job.items() if counts[sig] > 1 and sig not in covered]
        covered.update(job[name] for name in targets)
        if targets:
            runs.append((overrides, targets))
    return runs
