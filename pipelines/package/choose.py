"""Which artifacts the package stage bundles: names from package.artifacts, `best` and
`best:<runtime>` resolved against the evaluation's cells, and a reason for each one that cannot
be bundled."""

from dataclasses import dataclass
from typing import Any, cast

from pipelines import sidecar
from pipelines.backends.registry import Artifact, artifacts, configured
from pipelines.config import Config, CppRuntime

BEST = "best"
# The runtimes the ckpt2cpp C++ library (cpp/include/ckpt2cpp/model.h) has a backend for.
LIBRARY_RUNTIMES = (CppRuntime.litert, CppRuntime.torch, CppRuntime.tf)


@dataclass(frozen=True)
class Choice:
    """One requested bundle: the artifact and its C++ cell, or why it is skipped."""

    name: str
    artifact: Artifact | None = None
    cell: dict[str, Any] | None = None  # the evaluation's `<name>@cpp` cell
    skipped: str | None = None


def cpp_cells(cells: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The evaluation's C++ cells by artifact name."""
    return {c["artifact"]: c for c in cells if c["language"] == "cpp"}


def _unsupported(artifact: Artifact) -> str | None:
    """Why the library cannot run `artifact` as its C++ cell did, or None."""
    runtime = cast(CppRuntime, artifact.cpp_runtime)  # `found` holds C++ artifacts only
    if runtime not in LIBRARY_RUNTIMES:
        return f"the ckpt2cpp C++ library has no {runtime.name} backend"
    if artifact.cpp_flags:
        return (f"its C++ cell runs with {' '.join(artifact.cpp_flags)}, which the ckpt2cpp "
                "library has no option for: package the artifact without the suffix")  # fmt: skip
    return None


def _best(runtime: CppRuntime, found: dict[str, Artifact], cells: dict[str, dict]) -> Choice:
    """The fastest C++ cell of `runtime` that passed its accuracy target and that the library
    runs as the cell did."""
    passed = [
        c for name, c in cells.items()
        if name in found and found[name].cpp_runtime is runtime and c["passed"]
        and _unsupported(found[name]) is None
    ]  # fmt: skip
    if not passed:
        return Choice(f"{BEST}:{runtime.name}", skipped=f"no {runtime.name} C++ cell passed")
    cell = min(passed, key=lambda c: c["latency"]["p50_ms"])
    return Choice(cell["artifact"], found[cell["artifact"]], cell)


def _named(name: str, cfg: Config, found: dict[str, Artifact], cells: dict[str, dict]) -> Choice:
    if name in found:
        return Choice(name, found[name], cells.get(name))
    asked_for = {a.name: a for a in configured(cfg)}
    if name in asked_for:
        return Choice(name, skipped=f"not built: {sidecar.skipped_reason(asked_for[name].path)}")
    return Choice(name, skipped="not in this configuration (see quantize.modes, trace.methods)")


def choose(cfg: Config, cells: list[dict[str, Any]]) -> list[Choice]:
    """One Choice per distinct bundle package.artifacts asks for, in the order asked."""
    found = {a.name: a for a in artifacts(cfg) if a.cpp_runtime is not None}
    by_name = cpp_cells(cells)
    chosen: dict[str, Choice] = {}
    for requested in cfg.package.artifacts:
        if requested.split(":")[0] == BEST:
            runtimes = [r for r in cfg.cpp.runtimes if requested in (BEST, f"{BEST}:{r.name}")]
            picks = [_best(runtime, found, by_name) for runtime in runtimes] or [
                Choice(requested, skipped="its runtime is not in cpp.runtimes")
            ]
        else:
            picks = [_named(requested, cfg, found, by_name)]
        for pick in picks:
            chosen.setdefault(pick.name, pick)
    return [_supported(c) for c in chosen.values()]


def _supported(choice: Choice) -> Choice:
    """`choice`, skipped when the library cannot run it as its C++ cell did."""
    why = None if choice.artifact is None else _unsupported(choice.artifact)
    return choice if why is None else Choice(choice.name, skipped=why)
