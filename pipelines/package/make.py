"""The package stage's work: each chosen artifact laid out as a bundle, proven elsewhere,
checksummed and archived; each one that cannot be bundled skipped with its reason."""

import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pipelines import data, jsonfile, paths, sidecar, tensors
from pipelines.backends.cpp.build import build_library
from pipelines.backends.registry import python_runner
from pipelines.config import Config, CppRuntime
from pipelines.errors import PipelineError
from pipelines.package import bundle, platforms, proof, readme
from pipelines.package.choose import Choice, choose
from pipelines.package.libraries import closure
from pipelines.package.platforms import Target
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)


def folder_name(artifact: str, target: Target) -> str:
    """`tflite/int8` on aarch64 -> `tflite-int8-aarch64`."""
    return f"{artifact.replace('/', '-')}-{target.platform.value}"


def described(artifact: Path, runtime: CppRuntime) -> dict[str, Any]:
    """The model.json of a built artifact the library runs."""
    if runtime is CppRuntime.torch:
        return dict(sidecar.read(artifact, sidecar.TorchExport))
    if runtime is CppRuntime.tf and artifact.suffix == ".pb":
        return dict(sidecar.read(artifact, sidecar.FrozenGraph))
    if runtime is CppRuntime.tf:
        return dict(sidecar.read(artifact, sidecar.SavedModel))
    return dict(sidecar.read(artifact, sidecar.TFLite))


def artifact_samples(choice: Choice, cfg: Config, samples: Tensors) -> Tensors:
    """The samples as the artifact takes them (image inputs NCHW for PyTorch)."""
    assert choice.artifact is not None
    nchw = choice.artifact.layout == "NCHW"
    return {name: np.ascontiguousarray(a)
            for name, a in tensors.to_layout(samples, cfg.model.input_tensors, nchw).items()}  # fmt: skip


def python_outputs(choice: Choice, cfg: Config, samples: Tensors) -> Tensors:
    """The artifact's outputs in its Python runtime, one sample at a time as the example runs."""
    assert choice.artifact is not None
    runner = python_runner(choice.artifact.python_runner, choice.artifact.path, cfg)
    runner.load(1)
    results = [runner.infer(tensors.rows(samples, i, i + 1)) for i in range(tensors.count(samples))]
    return tensors.concat(results)


def tolerance(choice: Choice, cfg: Config, target: Target) -> float:
    """How far the bundle's outputs may be from the host's Python outputs: not at all on the
    host (the same runtime); on another platform, the artifact's tolerance against the original
    model, or for a quantized mode as far as the host's own C++ cell is from the original."""
    if not target.emulated:
        return 0.0
    assert choice.artifact is not None
    listed = cfg.evaluate.tolerances.get(choice.artifact.kind)
    if listed is not None:
        return listed
    errors = (choice.cell or {}).get("errors") or {}
    return float(errors.get("max_abs", 0.0))


def bundle_one(choice: Choice, cfg: Config, target: Target, library: Path, samples: Tensors,
               expected: Tensors, dist: Path) -> dict[str, Any]:  # fmt: skip
    """Lay out, prove and archive the bundle of `choice` for `target`; its record."""
    assert choice.artifact is not None and choice.artifact.cpp_runtime is not None
    artifact, runtime = choice.artifact.path, choice.artifact.cpp_runtime
    sidecar_content = described(artifact, runtime)
    names = sorted(t["name"] for t in sidecar_content["inputs"])
    if names != sorted(samples):
        raise PipelineError(f"{choice.name} takes inputs {names}, the evaluation set has "
                            f"{sorted(samples)} (rebuild it: dvc repro)")  # fmt: skip
    runtime_libs, system = closure(library, target.library_dirs(runtime))
    folder = dist / folder_name(choice.name, target)
    model_files = [artifact, sidecar.sidecar_path(artifact)]
    bundle.lay_out(folder, model_files, library, runtime_libs, samples)
    package = cfg.package
    checks = proof.prove(folder, target, expected, package.runs, tolerance(choice, cfg, target),
                         package.arm_cpus)  # fmt: skip
    record: dict[str, Any] = {
        "artifact": choice.name,
        "runtime": runtime.name,
        "platform": target.platform.value,
        "emulated": target.emulated,
        "samples": tensors.count(samples),
        "system_libraries": system,
        "libraries": [p.name for p in (library, *runtime_libs)],
        "evaluation": _evaluated(choice.cell),
        "proof": checks,
        "footprint": {
            "model_mb": bundle.megabytes(model_files),
            "libraries_mb": bundle.megabytes([library, *runtime_libs]),
            "total_mb": bundle.megabytes([folder / f for f in bundle.files(folder)]),
        },
    }
    shapes = {name: [1, *a.shape[1:]] for name, a in samples.items()}
    readme.write(folder, readme.render(choice.name, sidecar_content, choice.cell, record, shapes))
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
    """The "what would I ship?" numbers of one bundle (dvc metrics). Times under emulation are
    not speeds: an ARM64 bundle has none, only the CPU models it ran right on."""
    runs, evaluated = record["proof"]["runs"], record["evaluation"] or {}
    example = {} if record["emulated"] else runs["host"]["example"]
    row = {
        **record["footprint"],
        **{key: example.get(key) for key in ("load_ms", "first_ms", "p50_ms", "peak_rss_mb")},
        "metric_drop": evaluated.get("metric_drop"),
        "passed": evaluated.get("passed"),
    }
    if record["emulated"]:
        row["runs_right_on"] = sorted(cpu for cpu, r in runs.items() if r["status"] == "ok")
    return row


def available_targets(cfg: Config) -> tuple[list[Target], dict[str, str]]:
    """The platforms of package.platforms that can be built and proven here, and why each
    other one cannot."""
    found, skipped = [], {}
    for platform in cfg.package.platforms:
        candidate = platforms.target(platform)
        why = candidate.unavailable()
        if why is None:
            found.append(candidate)
        else:
            log.warning("no %s bundles: %s", platform.value, why)
            skipped[platform.value] = why
    return found, skipped


def package(cfg: Config, cells: list[dict[str, Any]], dist: Path) -> dict[str, Any]:
    """Write every chosen bundle for every available platform into `dist`; the summary (also
    dist/bundles.json)."""
    choices = choose(cfg, cells)
    wanted = [c for c in choices if c.skipped is None]
    skipped = {c.name: c.skipped for c in choices if c.skipped is not None}
    for name, reason in skipped.items():
        log.warning("not packaged: %s: %s", name, reason)
    targets, platforms_skipped = available_targets(cfg)
    dist.mkdir()
    records: dict[str, Any] = {}
    if wanted and targets:
        inputs, _ = data.load_eval(paths.DATASET, cfg.model)
        samples = tensors.rows(inputs, 0, min(cfg.package.samples, tensors.count(inputs)))
        laid_out = {c.name: artifact_samples(c, cfg, samples) for c in wanted}
        expected = {c.name: python_outputs(c, cfg, laid_out[c.name]) for c in wanted}
        for target in targets:
            for runtime in dict.fromkeys(c.artifact.cpp_runtime for c in wanted if c.artifact):
                assert runtime is not None  # choose() keeps C++ artifacts only
                group = [c for c in wanted if c.artifact and c.artifact.cpp_runtime is runtime]
                why = target.cannot_bundle(runtime)
                if why is not None:
                    for choice in group:
                        log.warning("not packaged: %s: %s", folder_name(choice.name, target), why)
                        skipped[folder_name(choice.name, target)] = why
                    continue
                # on the host, build_cpp's tree: the library links the runner's objects
                build_dir, cross_flags = paths.CMAKE_DIR, []
                if target.emulated:
                    build_dir = paths.PACKAGE_BUILD_DIR / target.platform.value
                    cross_flags = target.cmake_flags()
                library = build_library(cfg.cpp, Path("cpp"), build_dir, runtime,
                                        target.litert_library, cross_flags)  # fmt: skip
                for choice in tqdm(group, desc=f"package {target.platform.value}", unit="bundle"):
                    records[folder_name(choice.name, target)] = bundle_one(
                        choice, cfg, target, library, laid_out[choice.name],
                        expected[choice.name], dist,
                    )  # fmt: skip
    summary = {"bundles": records, "skipped": skipped, "platforms_skipped": platforms_skipped}
    jsonfile.write(dist / "bundles.json", summary, sort_keys=True)
    return summary
