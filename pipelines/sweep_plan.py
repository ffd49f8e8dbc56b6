"""Which stages do the jobs of a sweep share? Those are built once, before the jobs fan out.

DVC's run-cache keys a stage on its command, its dependencies and the values of the params it
lists. Two jobs therefore share a stage when, under their composed params, the stage has the
same command and params values and all its upstream stages are shared too. This module works
that out from dvc.yaml and each job's composition, without running anything.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml
from omegaconf import OmegaConf

from pipelines.compose import compose

INTERPOLATION = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class StageInstance:
    name: str  # e.g. "quantize@int8"
    cmd: str
    params: tuple[str, ...]
    deps: tuple[str, ...]
    outs: tuple[str, ...]


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        value = value[part]
    return value


def _substitute(text: str, values: dict[str, Any]) -> str:
    return INTERPOLATION.sub(lambda m: str(_lookup(values, m.group(1))), text)


def _paths(entries: list[Any]) -> tuple[str, ...]:
    return tuple(e if isinstance(e, str) else next(iter(e)) for e in entries or [])


def expand(pipeline: dict[str, Any], params: dict[str, Any]) -> list[StageInstance]:
    """The stages of dvc.yaml under `params`, with matrix stages expanded to their variants."""
    found = []
    for name, stage in pipeline["stages"].items():
        matrix = stage.get("matrix")
        if matrix is None:
            variants: list[tuple[str, dict[str, Any]]] = [(name, {})]
        else:
            ((key, values),) = matrix.items()
            reference = INTERPOLATION.fullmatch(values) if isinstance(values, str) else None
            if reference:
                values = _lookup(params, reference.group(1))
            variants = [(f"{name}@{value}", {"item": {key: value}}) for value in values]
        for variant, item in variants:
            scope = {**params, **item}
            found.append(
                StageInstance(
                    name=variant,
                    cmd=_substitute(stage["cmd"], scope),
                    params=tuple(_paths(stage.get("params", []))),
                    deps=tuple(_substitute(d, scope) for d in _paths(stage.get("deps", []))),
                    outs=tuple(_substitute(o, scope) for o in _paths(stage.get("outs", []))),
                )
            )
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def signatures(stages: list[StageInstance], params: dict[str, Any]) -> dict[str, str]:
    """A hash per stage of everything the run-cache keys it on that differs between jobs."""
    found: dict[str, str] = {}

    def sign(stage: StageInstance) -> str:
        if stage.name not in found:
            upstream = sorted(
                sign(other)
                for other in stages
                if other is not stage
                and any(_inside(o, d) or _inside(d, o) for o in other.outs for d in stage.deps)
            )
            content = {
                "cmd": stage.cmd,
                "params": {k: _lookup(params, k) for k in stage.params},
                "upstream": upstream,
            }
            found[stage.name] = hashlib.sha256(
                json.dumps(content, sort_keys=True, default=str).encode()
            ).hexdigest()
        return found[stage.name]

    for stage in stages:
        sign(stage)
    return found


def shared_stage_runs(
    jobs: list[list[str]], dvc_yaml: Path = Path("dvc.yaml")
) -> list[tuple[list[str], list[str]]]:
    """(overrides, stages) pairs to run before the sweep so every stage that two or more jobs
    share is built exactly once; empty when the jobs share nothing."""
    pipeline = yaml.safe_load(dvc_yaml.read_text())
    per_job = []
    for overrides in jobs:
        params = cast(
            dict[str, Any],
            OmegaConf.to_container(compose(overrides), resolve=True, enum_to_str=True),
        )
        per_job.append(signatures(expand(pipeline, params), params))
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
