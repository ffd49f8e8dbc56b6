"""Run one (artifact, runtime) cell in its own process, so a crash or hang stays in that cell.

Python and C++ cells share one command line (see pipelines/run.py and cpp/README.md), so one
function runs both and reads back the same two files: outputs (.npy) and stats (.json).
"""

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

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
    profiled: bool = False  # the runner also writes a per-op profile (--profile)

    @property
    def key(self) -> str:
        """`<artifact>@<language>`, e.g. `tflite/int8@cpp`."""
        return f"{self.artifact}@{self.language}"


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """How a cell runs its samples (the timing protocol's flags) and how long it may take."""

    warmup: int
    runs: int
    rounds: int = 1
    threads: int
    timeout_s: float
    start_together: int = 1  # cells started (and loaded) at once

    @classmethod
    def from_config(cls, evaluate: EvaluateConfig) -> "RunSettings":
        """The settings the `evaluate` config asks for."""
        return cls(
            warmup=evaluate.warmup,
            runs=evaluate.runs,
            rounds=evaluate.rounds,
            threads=evaluate.threads,
            timeout_s=evaluate.timeout_s,
            start_together=evaluate.start_together,
        )

    def flags(self) -> list[str]:
        """The runner flags of the timing protocol (the same for Python and C++), taking turns
        with the other cells between rounds."""
        return [
            "--warmup",
            str(self.warmup),
            "--runs",
            str(self.runs),
            "--rounds",
            str(self.rounds),
            "--threads",
            str(self.threads),
            "--interleaved",
        ]


@dataclass
class CellRun:
    """What came back from a cell: outputs and stats, or how it failed."""

    cell: Cell
    outputs: Tensors | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None  # {"runtime", "profiler", "runs", "ops": [...]}
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


@dataclass(frozen=True)
class CellJob:
    """A cell and the files it reads (by input name) and writes (by output name)."""

    cell: Cell
    inputs: dict[str, Path]
    outputs: dict[str, Path]
    stats: Path
    profile: Path | None = None

    @classmethod
    def plan(cls, cell: Cell, inputs: dict[str, Path], output_names: list[str], workdir: Path):
        """The job of `cell`, its files in `workdir`, named after the cell."""
        slug = cell.key.replace("/", "_").replace("@", "-")
        outputs = {name: workdir / f"{slug}-{name}.npy" for name in output_names}
        profile = workdir / f"{slug}.profile.json" if cell.profiled else None
        return cls(cell, inputs, outputs, workdir / f"{slug}.json", profile)

    def command(self, settings: RunSettings) -> list[str]:
        files = [*file_flags(self.inputs, self.outputs), "--json", str(self.stats)]
        if self.profile is not None:
            files += ["--profile", str(self.profile)]
        return [*self.cell.command, *files, *settings.flags()]


class _Stopped(Exception):
    """A runner did not say what it should have: it exited, or went quiet for too long."""


class _Turn:
    """One started runner (--interleaved): lines from its stdout arrive on a queue, so the
    evaluation can wait for each with a timeout; stderr goes to a file."""

    def __init__(self, job: CellJob, settings: RunSettings, stderr: Path) -> None:
        self.job = job
        self.result = CellRun(job.cell)
        self.started = time.perf_counter()
        self.stderr_path = stderr
        self.lines: queue.Queue[str | None] = queue.Queue()
        with open(stderr, "w") as err:
            self.process = subprocess.Popen(
                job.command(settings),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=runtime_env(),
            )
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, prefix: str, timeout_s: float) -> str:
        """The next stdout line starting with `prefix`; _Stopped if the runner exits first or
        says nothing of the kind within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise _Stopped(f"timed out after {timeout_s:g} s") from None
            if line is None:
                raise _Stopped("exited")
            if line.startswith(prefix):
                return line

    def take_turn(self, timeout_s: float) -> None:
        """Let the runner time one round, and wait until it has."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write("go\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise _Stopped("exited") from None
        self.expect("round ", timeout_s)

    def finish(self, timeout_s: float, stopped: _Stopped | None = None) -> CellRun:
        """Let the runner write its files and exit (killing it if it hung), then read back
        what it wrote or why it failed."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        hung = stopped is not None and str(stopped).startswith("timed out")
        try:
            self.process.wait(timeout=1 if hung else timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            hung, stopped = True, stopped or _Stopped(f"timed out after {timeout_s:g} s")
        self.result.wall_s = time.perf_counter() - self.started
        self.result.stderr_tail = last_lines(self.stderr_path.read_text(errors="replace"))
        if hung:
            self.result.failure = str(stopped)
        else:
            _read_back(self.result, self.process.returncode, self.job)
        return self.result


def run_interleaved(
    jobs: list[CellJob], settings: RunSettings, progress: str = "evaluate"
) -> list[CellRun]:
    """Run every job's cell with the timing protocol, the cells taking turns round after round
    (one runs while the others wait between rounds), so a noisy machine slows every cell alike.
    Cells start `settings.start_together` at a time (1: their load times are not disturbed);
    any crash, hang or error becomes that cell's failed CellRun, never an exception."""
    waiting: dict[int, _Turn] = {}  # started and still taking turns
    done: dict[int, CellRun] = {}

    def step(index: int, action: Callable[[_Turn], object]) -> None:
        turn = waiting[index]
        try:
            action(turn)
        except _Stopped as stopped:
            done[index] = turn.finish(settings.timeout_s, stopped)
            del waiting[index]

    with tqdm(total=len(jobs) * (settings.rounds + 1), desc=progress, unit="step") as bar:
        for first in range(0, len(jobs), settings.start_together):
            batch = range(first, min(first + settings.start_together, len(jobs)))
            for index in batch:
                job = jobs[index]
                try:
                    waiting[index] = _Turn(job, settings, job.stats.with_suffix(".stderr"))
                except OSError as error:
                    done[index] = CellRun(job.cell, failure=f"could not start: {error}")
            for index in (i for i in batch if i in waiting):
                step(index, lambda t: t.expect("ready", settings.timeout_s))
            bar.update(len(batch))
        for _ in range(settings.rounds):
            for index in list(waiting):
                step(index, lambda t: t.take_turn(settings.timeout_s))
            bar.update(len(jobs))
    done.update({index: turn.finish(settings.timeout_s) for index, turn in waiting.items()})
    return [done[i] for i in range(len(jobs))]


def run_cell(
    cell: Cell,
    inputs: dict[str, Path],
    output_names: list[str],
    workdir: Path,
    settings: RunSettings,
) -> CellRun:
    """Run one cell on the input files (by input name), alone."""
    job = CellJob.plan(cell, inputs, output_names, workdir)
    return run_interleaved([job], settings, progress=cell.key)[0]


def _read_back(result: CellRun, returncode: int, job: CellJob) -> None:
    """Fill `result` from a finished runner: its outputs and stats, or why there are none."""
    result.exit_code = returncode
    if returncode != 0:
        result.failure = describe_exit(returncode)
    elif not (all(p.is_file() for p in job.outputs.values()) and job.stats.is_file()):
        result.failure = "exited 0 but wrote no outputs"
    else:
        result.outputs = {name: np.load(path) for name, path in job.outputs.items()}
        result.stats = jsonfile.read(job.stats)
        if job.profile is not None and job.profile.is_file():
            result.profile = jsonfile.read(job.profile)
