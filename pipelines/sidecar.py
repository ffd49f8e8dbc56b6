"""JSON files that describe an artifact (names, dtypes, shapes, provenance) for the C++ side.

The sidecar of `dir/model.pb` or of the SavedModel directory `dir/model` is `dir/model.json`.
A stage whose framework is switched off writes a sidecar with a `skipped` reason instead.
"""

import json
from pathlib import Path
from typing import Any

from pipelines.errors import PipelineError


def sidecar_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name.split(".")[0] + ".json")


def write(artifact: Path, info: dict[str, Any]) -> None:
    sidecar_path(artifact).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def read(artifact: Path) -> dict[str, Any]:
    path = sidecar_path(artifact)
    if not path.is_file():
        raise PipelineError(f"{path} not found: run the stage that builds {artifact} (dvc repro)")
    return json.loads(path.read_text())


def tensor_info(name: str, node: str, dtype: str, shape: list[int], **extra: Any) -> dict[str, Any]:
    """One input or output: its public name, its graph node ("op:index"), dtype and shape
    (-1 for a dynamic dimension)."""
    return {"name": name, "node": node, "dtype": dtype, "shape": [int(d) for d in shape], **extra}


def write_skipped(artifact: Path, reason: str) -> None:
    """Record that this artifact was deliberately not built, so downstream stages skip it."""
    artifact.parent.mkdir(parents=True, exist_ok=True)
    write(artifact, {"skipped": reason})


def read_optional(artifact: Path) -> dict[str, Any]:
    """The sidecar of `artifact`, or {} when there is none (the stage did not run)."""
    path = sidecar_path(artifact)
    return json.loads(path.read_text()) if path.is_file() else {}


def skipped_reason(artifact: Path) -> str | None:
    return read_optional(artifact).get("skipped")
