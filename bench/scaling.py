"""Latency of `sr` from 128x128 to 1024x1024 input, at 1 and 2 threads, in every C++ runner of
an artifact that takes any image size, with the achieved GFLOP/s against the CPU's peak.

    python bench/scaling.py [--sizes 128 256 512 1024] [--threads 1 2]

Needs a built `sr` workspace (`make run`). FLOPs are counted from the PyTorch network at each
size (torch.utils.flop_counter: 2 per multiply-add of every convolution; the bilinear resize is
not counted). The cells of one size and thread count take turns in one interleaved run.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine
from pipelines import paths
from pipelines.backends.registry import artifacts
from pipelines.config import Config, Language, load
from pipelines.evaluate.cells import RunSettings
from pipelines.evaluate.evaluation import plan, time_cells
from pipelines.pages.plots import new_figure, to_png

# The artifacts whose image height and width are free (the .tflite files and the int8 AOTI
# package are fixed at the size they were converted or compiled at).
ANY_SIZE = ("tf/savedmodel", "tf/frozen", "torch/trace", "torch/aoti")


@dataclass(frozen=True)
class Point:
    """One C++ cell at one size and thread count."""

    size: int
    threads: int
    artifact: str
    ms: float
    gflop: float
    peak_per_core: float

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


def measure(cfg: Config, size: int, threads: int) -> dict[str, float]:
    """p50 ms of each any-size C++ cell on one random size x size image."""
    cells = [(a, c) for a, c in plan(cfg, artifacts(cfg), paths.CPP_BIN) if c.language == "cpp"]
    cells = [(a, c) for a, c in cells if a.name in ANY_SIZE]
    image = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    runs = 3 if size >= 512 else 10
    settings = RunSettings(warmup=1, runs=runs, rounds=3, threads=threads, timeout_s=900)
    inputs = {cfg.model.input_tensors[0].name: image}
    done = time_cells(cells, inputs, cfg.model, settings, f"{size}x{size}, {threads}T")
    return {r.cell.artifact: r.stats["p50_ms"] for r in done if r.ok}


def plot(rows: list[Point], peak_per_core: float) -> bytes:
    """Achieved GFLOP/s against image size, one line per cell and thread count, with the
    float32 peak of 1 and 2 cores."""
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
    for threads in sorted({t for _, t in keys}):
        ax.axhline(peak_per_core * threads, color="grey", linewidth=0.8)
        ax.annotate(
            f"float32 peak, {threads} core(s)",
            (0.01, peak_per_core * threads),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            va="bottom",
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("input height = width (pixels)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.legend(fontsize=7)
    return to_png(fig)


def section(sizes: tuple[int, ...], threads: tuple[int, ...], figure: Path) -> str:
    """The scaling section of bench/README.md; the plot is written to `figure`."""
    cfg = load()
    cfg.evaluate.languages = [Language.cpp]
    cpu = machine()
    per_core = cpu.peak_gflops(cpu.fp32_flops_per_cycle) / cpu.cores
    rows = [
        Point(size, t, artifact, ms, work, per_core)
        for size, work in ((size, gflop(cfg, size)) for size in sizes)
        for t in threads
        for artifact, ms in measure(cfg, size, t).items()
    ]
    figure.write_bytes(plot(rows, per_core))
    lines = [
        "| size | GFLOP | threads | C++ cell | p50 ms | GFLOP/s | % of float32 peak |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.size}² | {r.gflop:.1f} | {r.threads} | {r.artifact} | {r.ms:.1f} | "
            f"{r.gflops:.1f} | {r.peak_pct:.0f} % |"
        )
    best = max((r for r in rows if r.size == 512), key=lambda r: r.peak_pct, default=None)
    if best:
        lines += [
            "",
            f"Best float runtime at 512²: {best.artifact} at {best.threads} thread(s), "
            f"{best.peak_pct:.0f} % of peak (goal: above 50 %).",
        ]
    lines += ["", f"![achieved GFLOP/s]({figure.name})"]
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
