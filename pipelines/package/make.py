"""The package stage's work: each chosen artifact laid out as a bundle, proven elsewhere,
checksummed and archived; each one that cannot be bundled skipped with its reason."""

import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pipelines import data, paths, sidecar, tensors, toolchain
from pipelines.backends.cpp.build import build_library
from pipelines.backends.registry import python_runner
from pipelines.config import Config
from pipelines.errors import PipelineError
from pipelines.package import bundle, proof, readme
from pipelines.package.choose import Choice, choose
from pipelines.package.libraries import closure
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)
PLATFORM = "x86_64"


def folder_name(artifact: str) -> str:
    """`tflite/int8` -> `tflite-int8`."""
    return artifact.replace("/", "-")


def python_outputs(choice: Choice, cfg: Config, samples: Tensors) -> Tensors:
    """The artifact's outputs in its Python runtime, one sample at a time as the example runs."""
    assert choice.artifact is not None
    runner = python_runner(choice.artifact.python_runner, choice.artifact.path, cfg)
    runner.load(1)
    results = [runner.infer(tensors.rows(samples, i, i + 1)) for i in range(tensors.count(samples))]
    return tensors.concat(results)


def bundle_one(choice: Choice, cfg: Config, library: Path, samples: Tensors, dist: Path) -> dict[str, Any]:
    """Lay out, prove and archive the bundle of `choice`; its record."""
    assert choice.artifact is not None
    artifact = choice.artifact.path
    described = sidecar.read(artifact, sidecar.TFLite)
    names = [t["name"] for t in described["inputs"]]
    if sorted(names) != sorted(samples):
        raise PipelineError(f"{choice.name} takes inputs {names}, the evaluation set has "
                            f"{sorted(samples)} (rebuild it: dvc repro)")  # fmt: skip
    runtime_libs, system = closure(library, toolchain.libraries().runtime_dirs())
    folder = dist / folder_name(choice.name)
    model_files = [artifact, sidecar.sidecar_path(artifact)]
    bundle.lay_out(folder, model_files, library, runtime_libs, samples)
    expected = python_outputs(choice, cfg, samples)
    record: dict[str, Any] = {
        "artifact": choice.name,
        "runtime": choice.artifact.cpp_runtime.name if choice.artifact.cpp_runtime else None,
        "platform": PLATFORM,
        "samples": tensors.count(samples),
        "system_libraries": system,
        "libraries": [p.name for p in (library, *runtime_libs)],
        "evaluation": _evaluated(choice.cell),
        "proof": proof.prove(folder, expected, cfg.package.runs),
        "footprint": {
            "model_mb": bundle.megabytes(model_files),
            "libraries_mb": bundle.megabytes([library, *runtime_libs]),
            "total_mb": bundle.megabytes([folder / f for f in bundle.files(folder)]),
        },
    }
    readme.write(folder, readme.render(choice.name, dict(described), choice.cell, record))
    bundle.write_record(folder, record)
    bundle.write_checksums(folder)
    archive = dist / f"{folder.name}.tar.gz"
    bundle.write_archive(folder, archive)
    record["footprint"]["tar_gz_mb"] = bundle.megabytes([archive])
    return record


def _evaluated(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the evaluation said of the artifact's C++ cell."""
    if cell is None:
        return None
    keys = ("passed", "verdict", "metric_drop", "quality", "errors")
    return {"p50_ms": cell["latency"].get("p50_ms"), **{k: cell.get(k) for k in keys}}


def footprint_row(record: dict[str, Any]) -> dict[str, Any]:
    """The "what would I ship?" numbers of one bundle (dvc metrics)."""
    example, evaluated = record["proof"]["example"], record["evaluation"] or {}
    return {
        **record["footprint"],
        "load_ms": example["load_ms"],
        "first_ms": example["first_ms"],
        "p50_ms": example["p50_ms"],
        "peak_rss_mb": example["peak_rss_mb"],
        "metric_drop": evaluated.get("metric_drop"),
        "passed": evaluated.get("passed"),
    }


def package(cfg: Config, cells: list[dict[str, Any]], dist: Path) -> dict[str, Any]:
    """Write every chosen bundle into `dist`; the summary (also dist/bundles.json)."""
    choices = choose(cfg, cells)
    wanted = [c for c in choices if c.skipped is None]
    skipped = {c.name: c.skipped for c in choices if c.skipped is not None}
    for name, reason in skipped.items():
        log.warning("not packaged: %s: %s", name, reason)
    dist.mkdir()
    records: dict[str, Any] = {}
    if wanted:
        library = build_library(cfg.cpp, Path("cpp"), paths.PACKAGE_BUILD_DIR)
        inputs, _ = data.load_eval(paths.DATASET, cfg.model)
        samples = tensors.rows(inputs, 0, min(cfg.package.samples, tensors.count(inputs)))
        samples = {name: np.ascontiguousarray(a) for name, a in samples.items()}
        for choice in tqdm(wanted, desc="package", unit="bundle"):
            records[choice.name] = bundle_one(choice, cfg, library, samples, dist)
    summary = {"bundles": records, "skipped": skipped}
    bundle.jsonfile.write(dist / "bundles.json", summary, sort_keys=True)
    return summary
