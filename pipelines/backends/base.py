"""The one protocol every runtime implements, and the one benchmark loop that drives it.

The C++ runners (cpp/) implement the same loop, so Python and C++ numbers mean the same thing:
load (timed) -> sample 0 (timed: first run) -> the other samples -> `warmup` untimed runs ->
`rounds` rounds of `runs` timed runs cycling through the samples, each run timed alone with a
monotonic clock; p50 is the median of the rounds' p50s. Between rounds a runner can take turns
with others (`RoundHooks`, the --interleaved mode of pipelines/run.py and the C++ runners).
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pipelines import tensors
from pipelines.errors import PipelineError
from pipelines.tensors import Tensors


class Runner(Protocol):
    """Load an artifact once, then run it on one sample (batch 1 of every named input) at a
    time, returning its named outputs. A runner that knows what its model takes sets
    `input_specs` (InputSpecs, one per input) in `load`; the benchmark then refuses inputs that
    do not fit before running any."""

    runtime: str

    def load(self, threads: int) -> None: ...

    def infer(self, sample: Tensors) -> Tensors: ...


@dataclass(frozen=True)
class InputSpec:
    """What a loaded model takes as one sample: its name, batch-1 shape (-1: any size) and the
    dtypes it accepts (the model's own first)."""

    name: str
    shape: list[int]
    dtypes: tuple[str, ...]
    layout: str = ""  # NHWC, NCHW, or "" where the layout means nothing


def check_inputs(specs: "list[InputSpec] | None", inputs: Tensors, sources: dict[str, str]) -> None:
    """Refuse `inputs` that do not fit the model's `specs`: a missing or unknown name, another
    rank, a fixed dimension of another size, or a dtype the model does not take. `sources`
    names where each input was read from."""
    if specs is None:
        return
    wanted = [spec.name for spec in specs]
    if len(specs) > 1 and sorted(inputs) != sorted(wanted):
        raise PipelineError(
            f"the inputs are {sorted(inputs)} but the model takes {wanted} (give one "
            "--input NAME=FILE per model input)"
        )
    tensors.count(inputs)
    if len(specs) == 1:
        check_input(specs[0], next(iter(inputs.values())), next(iter(sources.values())))
        return
    for spec in specs:
        check_input(spec, inputs[spec.name], sources[spec.name])


def check_input(spec: InputSpec, inputs: np.ndarray, source: str) -> None:
    """Refuse `inputs` (N samples on axis 0) that do not fit `spec`: another rank, a fixed
    dimension of another size, or a dtype the model does not take."""
    sample = [1, *inputs.shape[1:]]
    layout = f" ({spec.layout})" if spec.layout else ""
    fits = len(sample) == len(spec.shape) and all(
        want in (-1, got) for want, got in zip(spec.shape, sample, strict=True)
    )
    if not fits:
        any_size = "; -1 is any size" if -1 in spec.shape else ""
        raise PipelineError(
            f"{source} has shape {list(inputs.shape)}, so each sample is {sample}; the model "
            f"input {spec.name!r} takes {spec.shape}{layout} (give N samples of that shape "
            f"stacked on axis 0{any_size})"
        )
    if inputs.dtype.name not in spec.dtypes:
        raise PipelineError(
            f"{source} is {inputs.dtype.name}; the model input {spec.name!r} takes "
            f"{' or '.join(spec.dtypes)} (save it with np.save(path, x.astype(np.{spec.dtypes[0]})))"
        )


@dataclass(frozen=True)
class OpTime:
    """One op's share of an inference, from the runtime's own profiler."""

    name: str  # the op as the runtime names it (a node name, a kernel with its node index)
    kind: str  # the op type, which the report groups by
    ms: float  # per inference


@runtime_checkable
class Profiled(Protocol):
    """A loaded runner that can say where an inference's time goes (`--profile`)."""

    runtime: str
    profiler: str  # which profiler, for the profile file

    def profile(self, samples: list[Tensors], runs: int) -> list[OpTime]: ...


def _no_turns(_round: int) -> None:
    return None


def _no_report(_round: int, _p50_ms: float) -> None:
    return None


@dataclass(frozen=True)
class RoundHooks:
    """What runs between rounds, outside the timed runs: `before(round)` and
    `after(round, p50_ms)`."""

    before: Callable[[int], None] = _no_turns
    after: Callable[[int, float], None] = _no_report


@dataclass(frozen=True)
class Timing:
    """The timed part of the protocol: `rounds` rounds of `runs` runs after `warmup` runs."""

    warmup: int = 5
    runs: int = 20
    rounds: int = 1
    threads: int = 1
    between: RoundHooks = field(default_factory=RoundHooks)


@dataclass
class Stats:
    runtime: str
    model: str
    samples: int
    load_ms: float
    first_run_ms: float
    warmup: int
    runs: int
    rounds: int
    round_p50_ms: list[float]
    threads: int
    min_ms: float
    mean_ms: float
    std_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    peak_rss_mb: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1e3


def peak_rss_mb() -> float:
    """Peak resident set size of this process: VmHWM, which starts afresh at exec (getrusage's
    ru_maxrss carries over the peak of the parent that started the process)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return -1.0


def _stacked(outputs: list[Tensors]) -> Tensors:
    """Per-sample outputs stacked on the sample axis: float32 reals, integers kept."""
    stacked = {name: np.concatenate([np.asarray(o[name]) for o in outputs]) for name in outputs[0]}
    return {n: a if a.dtype.kind in "iu" else a.astype(np.float32) for n, a in stacked.items()}


def outputs_of(runner: Runner, inputs: Tensors) -> Tensors:
    """A loaded runner's outputs for every sample of `inputs`, one sample at a time."""
    count = tensors.count(inputs)
    return _stacked([runner.infer(tensors.rows(inputs, i, i + 1)) for i in range(count)])


def _timed_rounds(
    runner: Runner, samples: list[Tensors], timing: Timing
) -> tuple[list[float], list[float]]:
    """Every timed run's time (ms) and each round's p50, hooks called between rounds."""
    times: list[float] = []
    round_p50: list[float] = []
    for round_ in range(timing.rounds):
        timing.between.before(round_)
        this_round = []
        for k in range(timing.runs):
            start = time.perf_counter()
            runner.infer(samples[k % len(samples)])
            this_round.append(_ms(start))
        times += this_round
        round_p50.append(float(np.percentile(this_round, 50)))
        timing.between.after(round_, round_p50[-1])
    return times, round_p50


def benchmark(
    runner: Runner,
    model: str,
    inputs: Tensors,
    timing: Timing,
    sources: dict[str, str] | None = None,
) -> tuple[Tensors, Stats]:
    """Run every sample of `inputs` (axis 0; input NAME read from sources[NAME]) once, then
    time the runs `timing` asks for."""
    start = time.perf_counter()
    runner.load(timing.threads)
    load_ms = _ms(start)
    named_sources = sources or {name: f"the input {name!r}" for name in inputs}
    check_inputs(getattr(runner, "input_specs", None), inputs, named_sources)
    samples = [tensors.rows(inputs, i, i + 1) for i in range(tensors.count(inputs))]
    start = time.perf_counter()
    outputs = [runner.infer(samples[0])]
    first_run_ms = _ms(start)
    outputs += [runner.infer(sample) for sample in samples[1:]]
    for k in range(timing.warmup):
        runner.infer(samples[k % len(samples)])
    times, round_p50 = _timed_rounds(runner, samples, timing)
    stats = Stats(
        runtime=runner.runtime,
        model=model,
        samples=len(samples),
        load_ms=load_ms,
        first_run_ms=first_run_ms,
        warmup=timing.warmup,
        runs=timing.runs,
        rounds=timing.rounds,
        round_p50_ms=round_p50,
        threads=timing.threads,
        min_ms=min(times),
        mean_ms=statistics.fmean(times),
        std_ms=statistics.pstdev(times),
        p50_ms=float(np.percentile(round_p50, 50)),
        p90_ms=float(np.percentile(times, 90)),
        p99_ms=float(np.percentile(times, 99)),
        max_ms=max(times),
        peak_rss_mb=peak_rss_mb(),
    )
    return _stacked(outputs), stats
