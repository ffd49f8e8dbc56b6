"""The proof that a bundle deploys: moved to a fresh folder, its example is configured, built
and run with a scrubbed environment (no venv on PATH, no LD_LIBRARY_PATH or PYTHONPATH), every
library it loads outside the system set resolves inside the bundle, and its outputs equal the
same artifact's Python outputs."""

import logging
import platform
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import PipelineError
from pipelines.package.libraries import SYSTEM, dynamic_entries
from pipelines.package.platforms import Target
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)

SCRUBBED_PATH = "/usr/local/bin:/usr/bin:/bin"
STATS = re.compile(
    r"load (?P<load_ms>[\d.]+) ms, first (?P<first_ms>[\d.]+) ms, p50 (?P<p50_ms>[\d.]+) ms "
    r"over \d+ runs, peak RSS (?P<peak_rss_mb>[\d.]+) MB"
)
LDD_LINE = re.compile(r"^\s*(\S+) => (.+?) \(0x[0-9a-f]+\)$|^\s*(\S+) => not found$")


def cpu_model() -> str:
    """The processor the proof ran on (its timings are this machine's, not the target's)."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def scrubbed_env(home: Path) -> dict[str, str]:
    """What a machine without our Python has: system PATH only, nothing that points into .venv."""
    return {"PATH": SCRUBBED_PATH, "HOME": str(home), "LANG": "C.UTF-8"}


def require_tools() -> None:
    """cmake and g++ on the scrubbed PATH, or one line naming the package to install."""
    for tool, package in (("cmake", "cmake"), ("g++", "g++")):
        if shutil.which(tool, path=SCRUBBED_PATH) is None:
            raise PipelineError(
                f"{tool} not found on {SCRUBBED_PATH}: the bundle's example cannot be built "
                f"(apt-get install {package})"
            )


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
        raise PipelineError(f"{what} failed (exit {result.returncode}): {' '.join(tail)}")
    return result


def resolved_libraries(trace: list[str], bundle: Path, env: dict[str, str]) -> dict[str, str]:
    """Each library the example loads (`trace`: ldd, or the loader's own listing under QEMU),
    checked: a system library, or a file inside `bundle`. Anything else, or a library not found,
    fails in one line."""
    found: dict[str, str] = {}
    for line in _run(trace, env, "listing the example's libraries").stdout.splitlines():
        match = LDD_LINE.match(line)
        if not match:
            continue
        name, target = (match[1], match[2]) if match[1] else (match[3], None)
        if target is None:
            raise PipelineError(f"the example cannot find {name}: the bundle's lib/ lacks it")
        inside = Path(target).resolve().is_relative_to(bundle.resolve())
        if name not in SYSTEM and not inside:
            raise PipelineError(f"the example loads {name} from {target}, outside the bundle")
        found[name] = "bundle" if inside else "system"
    return found


def check_runpaths(lib: Path) -> dict[str, list[str]]:
    """Every shared library in `lib` has no RPATH and only $ORIGIN-relative RUNPATH entries."""
    runpaths = {}
    for library in sorted(lib.glob("*.so*")):
        entries = dynamic_entries(library)
        paths = [p for value in entries["RUNPATH"] + entries["RPATH"] for p in value.split(":")]
        outside = [p for p in paths if not p.startswith("$ORIGIN")]
        if outside:
            raise PipelineError(f"{library.name} has RUNPATH {outside}, not relative to $ORIGIN")
        runpaths[library.name] = paths
    return runpaths


def compare(produced: Path, expected: Tensors) -> dict[str, float]:
    """Max abs difference per output between the example's files and `expected`."""
    differences = {}
    for name, want in expected.items():
        path = produced / f"{name}.npy"
        if not path.is_file():
            raise PipelineError(f"the example wrote no {path.name} (its outputs: "
                                f"{sorted(p.name for p in produced.glob('*.npy'))})")  # fmt: skip
        got = np.load(path)
        if got.shape != want.shape or got.dtype != want.dtype:
            raise PipelineError(f"the example's {name} is {got.dtype}{list(got.shape)}, Python "
                                f"gave {want.dtype}{list(want.shape)}")  # fmt: skip
        differences[name] = float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0))
    return differences


def run_example(command: list[str], env: dict[str, str], out: Path, expected: Tensors,
                tolerance: float, timed: bool) -> dict[str, Any]:  # fmt: skip
    """One run of the built example on the bundled samples, judged against `expected`:
    ok (within `tolerance`), wrong (outside it), refused (SIGILL: an instruction this CPU does
    not have), crashed (another signal) or failed (its own error line). With `timed`, what the
    example measured too (not under emulation, where times are not speeds)."""
    out.mkdir()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        code = result.returncode
        signal_number = -code if code < 0 else code - 128 if code > 128 else 0
        if signal_number:
            status = "refused" if signal_number == signal.SIGILL else "crashed"
            return {"status": status, "detail": f"killed by {signal.Signals(signal_number).name}"}
        errors = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
        return {"status": "failed", "detail": errors[-1] if errors else f"exit {code}"}
    stats = STATS.search(result.stdout)
    if stats is None:
        raise PipelineError(f"the example printed no timing line: {result.stdout.strip()!r}")
    differences = compare(out, expected)
    worst = max(differences.values(), default=0.0)
    found: dict[str, Any] = {"status": "ok" if worst <= tolerance else "wrong", "max_abs": differences}
    if timed:
        found["example"] = {key: float(value) for key, value in stats.groupdict().items()}
    return found


def prove(bundle: Path, target: Target, expected: Tensors, runs: int, tolerance: float,
          cpus: list[str]) -> dict[str, Any]:  # fmt: skip
    """Move `bundle`, build its example there for `target` with a scrubbed environment, check
    what it loads, and run it (on the host; under QEMU as each of `cpus` for ARM). Fails unless
    a run is within `tolerance` of `expected` (the same artifact in Python on the host); the
    checks and runs made."""
    require_tools()
    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-proof-") as scratch:
        root = Path(scratch)
        moved = root / "elsewhere" / bundle.name
        shutil.copytree(bundle, moved, symlinks=True)
        env = scrubbed_env(root)
        build = root / "build"
        started = time.perf_counter()
        configure = ["cmake", "-S", str(moved / "examples"), "-B", str(build), *target.cmake_flags()]
        _run(configure, env, "configuring the example")
        _run(["cmake", "--build", str(build)], env, "building the example")
        build_s = time.perf_counter() - started
        example = build / "example"
        libraries = resolved_libraries(target.loader_trace(example), moved, env)
        runpaths = check_runpaths(moved / "lib")
        results = {}
        timed = not target.emulated  # emulated times are not speeds: one timed run, not kept
        for cpu in cpus if target.emulated else ["host"]:
            prefix = target.runner(cpu, root / f"cpuinfo-{cpu}")
            command = [*prefix, str(example), str(moved / "model"), str(moved / "samples"),
                       str(root / f"out-{cpu}"), str(runs if timed else 1)]  # fmt: skip
            results[cpu] = run_example(command, env, root / f"out-{cpu}", expected, tolerance, timed)
            log.info("%s on %s: %s", bundle.name, cpu, results[cpu]["status"])
    if not any(r["status"] == "ok" for r in results.values()):
        raise PipelineError(f"{bundle.name} ran right nowhere: {_summary(results)}")
    return {
        "machine": cpu_model(),
        "relocated_build_s": round(build_s, 2),
        "libraries_resolved": libraries,
        "runpaths": runpaths,
        "tolerance": tolerance,
        "runs": results,
    }


def _summary(results: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{cpu}: {r['status']} ({r.get('detail') or r.get('max_abs')})"
                     for cpu, r in results.items())  # fmt: skip
