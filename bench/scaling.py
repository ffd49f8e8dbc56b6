"""Latency of `sr` from 128x128 to 1024x1024 input, at 1 and 2 threads, in every C++ runner of
an artifact that takes any image size (and, at 1 thread, in the peers of bench/peers.py), with
the achieved GFLOP/s against the CPU's peak for the precision each computes in.

    python bench/scaling.py [--sizes 128 256 512 1024] [--threads 1 2]

Needs a built `sr` workspace (`make run`). FLOPs are counted from the PyTorch network at each
size (torch.utils.flop_counter: 2 per multiply-add of every convolution; the bilinear resize is
not counted). The cells of one size and thread count take turns in one interleaved run.
"""

import argparse
import sys
import tempfile
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import peers
from bench.machine import machine, precision
from pipelines import paths
from pipelines.backends.registry import Artifact, artifacts
from pipelines.config import Config, Language, load
from pipelines.evaluate.cells import RunSettings
from pipelines.evaluate.evaluation import plan, time_cells
from pipelines.pages.plots import new_figure, to_png

# The artifacts whose image height and width are free (the .tflite files and the int8 AOTI
# package are fixed at the size they were converted or compiled at).
ANY_SIZE = (
    "tf/savedmodel",
    "tf/frozen",
    "tf/savedmodel_bf16",
    "tf/frozen_bf16",
    "torch/trace",
    "torch/aoti",
    "torch/aoti_bf16",
)


@dataclass(frozen=True)
class Point:
    """One cell (a C++ cell, or a peer's) at one size and thread count."""

    size: int
    threads: int
    artifact: str
    ms: float
    gflop: float
    precision: str  # what it computes in: float32 or bf16
    peak_per_core: float  # of that precision, GFLOP/s

    @property
    def gflops(self) -> float:
        return self.gflop / (self.ms / 1e3)

    @property
    def peak_pct(self) -> float:
        return 100 * self.gflops / (self.peak_per_core * self.threads)


def gflop(cfg: Config, size: int) -> float:
    """The network's GFLOP for one size x size image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pipelines.backends.torch import loader

    module = loader.build(cfg.model).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.zeros(1, cfg.model.arch.get("channels", 3), size, size))
    return counter.get_total_flops() / 1e9


def measure(cfg: Config, size: int, threads: int, others: list[Artifact]) -> dict[str, float]:
    """p50 ms of each any-size C++ cell and each of the `others` (peers, in Python) on one
    random size x size image."""
    mine = [a for a in artifacts(cfg) if a.name in ANY_SIZE]
    cells = [
        (a, c)
        for a, c in plan(cfg, [*mine, *others], paths.CPP_BIN)
        if a in others or c.language == "cpp"
    ]
    image = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    runs = 3 if size >= 512 else 10
    settings = RunSettings(warmup=1, runs=runs, rounds=3, threads=threads, timeout_s=900)
    inputs = {cfg.model.input_tensors[0].name: image}
    done = time_cells(cells, inputs, cfg.model, settings, f"{size}x{size}, {threads}T")
    return {r.cell.artifact: r.stats["p50_ms"] for r in done if r.ok}


def plot(rows: list[Point], peaks_per_core: dict[str, float]) -> bytes:
    """Achieved GFLOP/s against image size, one line per cell and thread count, with each
    precision's peak (`peaks_per_core`) of 1 and 2 cores."""
    fig, ax = new_figure(7, 4)
    keys = sorted({(r.artifact, r.threads) for r in rows})
    for artifact, threads in keys:
        mine = [r for r in rows if (r.artifact, r.threads) == (artifact, threads)]
        ax.plot(
            [r.size for r in mine],
            [r.gflops for r in mine],
            marker="o",
            linestyle="-" if threads == 1 else "--",
            label=f"{artifact} {threads}T",
        )
    for (name, per_core), threads in product(peaks_per_core.items(), sorted({t for _, t in keys})):
        ax.axhline(per_core * threads, color="grey", linewidth=0.8)
        ax.annotate(
            f"{name} peak, {threads} core(s)",
            (0.01, per_core * threads),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            va="bottom",
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("input height = width (pixels)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.legend(fontsize=7)
    return to_png(fig)


def _points(cfg: Config, size: int, threads: int, others: list[Artifact]) -> list[Point]:
    cpu = machine()
    work = gflop(cfg, size)
    kinds = {a.name: a.kind for a in [*artifacts(cfg), *others]}
    found = []
    for artifact, ms in measure(cfg, size, threads, others).items():
        computes = precision(kinds[artifact])
        per_core = cpu.peak_gflops(cpu.ops_per_cycle(computes)) / cpu.cores
        found.append(Point(size, threads, artifact, ms, work, computes, per_core))
    return found


def _at_512(rows: list[Point]) -> list[str]:
    """The 512² verdicts: the best float32 cell against its peak, and the fastest C++ cell
    against the fastest peer at 1 thread."""
    lines = []
    floats = [r for r in rows if r.size == 512 and r.precision == "float32"]
    best = max(
        (r for r in floats if not r.artifact.startswith("peer/")),
        key=lambda r: r.peak_pct,
        default=None,
    )
    if best:
        lines.append(
            f"Best float32 C++ cell at 512²: {best.artifact} at {best.threads} thread(s), "
            f"{best.peak_pct:.0f} % of the float32 peak (goal: above 50 %)."
        )
    one = [r for r in rows if r.size == 512 and r.threads == 1]
    peer = min((r for r in one if r.artifact.startswith("peer/")), key=lambda r: r.ms, default=None)
    mine = min(
        (r for r in one if not r.artifact.startswith("peer/")), key=lambda r: r.ms, default=None
    )
    if peer and mine:
        lines.append(
            f"Fastest C++ cell at 512², 1 thread: {mine.artifact} ({mine.precision}), "
            f"{mine.ms:.1f} ms = {mine.ms / peer.ms:.2f}x the fastest peer, {peer.artifact} "
            f"({peer.precision}, {peer.ms:.1f} ms) (goal: at most 1.00)."
        )
    return lines


def section(sizes: tuple[int, ...], threads: tuple[int, ...], figure: Path) -> str:
    """The scaling section of bench/README.md (the peers at 1 thread only); the plot is
    written to `figure`."""
    cfg = load()
    cfg.evaluate.languages = list(Language)  # the peers run in Python
    with tempfile.TemporaryDirectory() as folder:
        others = peers.artifacts(cfg, Path(folder))
        rows = [
            point
            for size in sizes
            for t in threads
            for point in _points(cfg, size, t, others if t == 1 else [])
        ]
    cpu = machine()
    peaks = {p: cpu.peak_gflops(cpu.ops_per_cycle(p)) / cpu.cores for p in ("float32", "bf16")}
    figure.write_bytes(plot(rows, peaks))
    lines = [
        "| size | GFLOP | threads | cell | computes in | p50 ms | GFLOP/s | % of its peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.size}² | {r.gflop:.1f} | {r.threads} | {r.artifact} | {r.precision} | "
            f"{r.ms:.1f} | {r.gflops:.1f} | {r.peak_pct:.0f} % |"
        )
    lines += ["", *_at_512(rows), "", f"![achieved GFLOP/s]({figure.name})"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--figure", type=Path, default=Path("bench/scaling.png"))
    args = parser.parse_args()
    print(section(tuple(args.sizes), tuple(args.threads), args.figure))


if __name__ == "__main__":
    main()
