"""The one protocol every runtime implements, and the one benchmark loop that drives it.

The C++ runners (cpp/) implement the same loop, so Python and C++ numbers mean the same thing:
load (timed) -> sample 0 (timed: first run) -> the other samples -> `warmup` untimed runs ->
`runs` timed runs cycling through the samples, each timed alone with a monotonic clock.
"""

import resource
import statistics
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class Runner(Protocol):
    """Load an artifact once, then run it on one sample (batch 1) at a time."""

    runtime: str

    def load(self, threads: int) -> None: ...

    def infer(self, sample: np.ndarray) -> np.ndarray: ...


@dataclass
class Stats:
    runtime: str
    model: str
    samples: int
    load_ms: float
    first_run_ms: float
    warmup: int
    runs: int
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
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def benchmark(
    runner: Runner, model: str, inputs: np.ndarray, warmup: int, runs: int, threads: int
) -> tuple[np.ndarray, Stats]:
    """Run every sample of `inputs` (axis 0) once, then time `runs` runs after `warmup`."""
    start = time.perf_counter()
    runner.load(threads)
    load_ms = _ms(start)
    samples = [inputs[i : i + 1] for i in range(len(inputs))]
    start = time.perf_counter()
    outputs = [runner.infer(samples[0])]
    first_run_ms = _ms(start)
    outputs += [runner.infer(sample) for sample in samples[1:]]
    for k in range(warmup):
        runner.infer(samples[k % len(samples)])
    times = []
    for k in range(runs):
        start = time.perf_counter()
        runner.infer(samples[k % len(samples)])
        times.append(_ms(start))
    stats = Stats(
        runtime=runner.runtime,
        model=model,
        samples=len(samples),
        load_ms=load_ms,
        first_run_ms=first_run_ms,
        warmup=warmup,
        runs=runs,
        threads=threads,
        min_ms=min(times),
        mean_ms=statistics.fmean(times),
        std_ms=statistics.pstdev(times),
        p50_ms=float(np.percentile(times, 50)),
        p90_ms=float(np.percentile(times, 90)),
        p99_ms=float(np.percentile(times, 99)),
        max_ms=max(times),
        peak_rss_mb=peak_rss_mb(),
    )
    return np.concatenate([np.asarray(o, dtype=np.float32) for o in outputs]), stats
