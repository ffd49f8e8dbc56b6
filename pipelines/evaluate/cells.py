"""Run one (artifact, runtime) cell in its own process, so a crash or hang stays in that cell.

Python and C++ cells share one command line (see pipelines/run.py and cpp/README.md), so one
function runs both and reads back the same two files: outputs (.npy) and stats (.json).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import jsonfile, toolchain
from pipelines.config import EvaluateConfig
from pipelines.pages.text import last_lines
from pipelines.tensors import Tensors


@dataclass(frozen=True)
class Cell:
    """One artifact in one runtime: the command that runs it and where it writes."""

    artifact: str
    language: str
    command: list[str]

    @property
    def key(self) -> str:
        """`<artifact>@<language>`, e.g. `tflite/int8@cpp`."""
        return f"{self.artifact}@{self.language}"


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """How a cell runs its samples (the timing protocol's flags) and how long it may take."""

    warmup: int
    runs: int
    threads: int
    timeout_s: float

    @classmethod
    def from_config(cls, evaluate: EvaluateConfig) -> "RunSettings":
        """The settings the `evaluate` config asks for."""
        return cls(
            warmup=evaluate.warmup,
            runs=evaluate.runs,
            threads=evaluate.threads,
            timeout_s=evaluate.timeout_s,
        )

    def flags(self) -> list[str]:
        """The runner flags of the timing protocol (the same for Python and C++)."""
        return [
            "--warmup",
            str(self.warmup),
            "--runs",
            str(self.runs),
            "--threads",
            str(self.threads),
        ]


@dataclass
class CellRun:
    """What came back from a cell: outputs and stats, or how it failed."""

    cell: Cell
    outputs: Tensors | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None
    exit_code: int | None = None
    stderr_tail: str = ""
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None


def python_command(runtime: str, model: Path, params: Path = Path("params.yaml")) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipelines.run",
        "--runtime",
        runtime,
        "--model",
        str(model),
        "--params",
        str(params),
    ]


def cpp_command(binary: Path, model: Path, extra: Sequence[str] = ()) -> list[str]:
    """The C++ runner `binary` on `model`, with the runner-specific flags `extra`."""
    return [str(binary), "--model", str(model), *extra]


def runtime_env() -> dict[str, str]:
    """The environment for a cell: quiet TensorFlow, and the wheels' library directories on
    LD_LIBRARY_PATH so C++ runners built against another checkout's venv still resolve."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    dirs = [str(d) for d in toolchain.libraries().runtime_dirs()]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        dirs + [p for p in env.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    )
    return env


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def file_flags(inputs: dict[str, Path], outputs: dict[str, Path]) -> list[str]:
    """`--input FILE --output FILE` for a one-input, one-output model, else one
    `--input NAME=FILE` per input and one `--output NAME=FILE` per output."""
    one = len(inputs) == 1 and len(outputs) == 1
    flags = []
    for flag, files in (("--input", inputs), ("--output", outputs)):
        for name, path in files.items():
            flags += [flag, str(path) if one else f"{name}={path}"]
    return flags


def run_cell(
    cell: Cell,
    inputs: dict[str, Path],
    output_names: list[str],
    workdir: Path,
    settings: RunSettings,
) -> CellRun:
    """Run `cell` on the input files (by input name); any crash, hang or error becomes a failed
    CellRun, never an exception."""
    slug = cell.key.replace("/", "_").replace("@", "-")
    outputs = {name: workdir / f"{slug}-{name}.npy" for name in output_names}
    stats = workdir / f"{slug}.json"
    files = [*file_flags(inputs, outputs), "--json", str(stats)]
    result = CellRun(cell)
    started = time.perf_counter()
    try:
        process = subprocess.run(
            [*cell.command, *files, *settings.flags()],
            capture_output=True,
            text=True,
            timeout=settings.timeout_s,
            env=runtime_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        result.failure = f"timed out after {settings.timeout_s:g} s"
        result.stderr_tail = last_lines(expired.stderr)
        result.wall_s = time.perf_counter() - started
        return result
    except OSError as error:
        result.failure = f"could not start: {error}"
        return result
    result.wall_s = time.perf_counter() - started
    _read_back(result, process, outputs, stats)
    return result


def _read_back(
    result: CellRun, process: subprocess.CompletedProcess, outputs: dict[str, Path], stats: Path
) -> None:
    """Fill `result` from a finished process: its outputs and stats, or why there are none."""
    result.exit_code = process.returncode
    result.stderr_tail = last_lines(process.stderr)
    if process.returncode != 0:
        result.failure = describe_exit(process.returncode)
    elif not (all(p.is_file() for p in outputs.values()) and stats.is_file()):
        result.failure = "exited 0 but wrote no outputs"
    else:
        result.outputs = {name: np.load(path) for name, path in outputs.items()}
        result.stats = jsonfile.read(stats)
