"""Latency of `sr` from 128x128 to 1024x1024 input, at 1 and 2 threads, in every C++ runner of
an artifact that takes any image size, in litert_runner on the pipeline's int8 .tflite converted
again at each size (its calibration samples tiled to that size), and (at 1 thread) in the peers
of bench/peers.py, with the achieved GFLOP/s against the CPU's peak for the precision each
computes in, and each cell's PSNR drop.

    python bench/scaling.py [--sizes 128 256 512 1024] [--threads 1 2]

Needs a built `sr` workspace (`make run`). FLOPs are counted from the PyTorch network at each
size (torch.utils.flop_counter: 2 per multiply-add of every convolution; the bilinear resize is
not counted). The cells of one size and thread count take turns in one interleaved run, on a
mosaic of the evaluation set's own inputs (photos never seen in training); the PSNR drop is the
evaluation's (mean PSNR over the tiles, against their targets) below tf/savedmodel's in C++
(the evaluation holds it to the Keras original within 1e-5).
"""

import argparse
import sys
import tempfile
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import peers
from bench.machine import machine, precision
from pipelines import data, metrics, paths, tensors
from pipelines.backends.registry import Artifact, artifacts
from pipelines.config import Config, CppRuntime, Framework, Language, QuantMode, load
from pipelines.evaluate.cells import RunSettings
from pipelines.evaluate.compare import to_nhwc
from pipelines.evaluate.evaluation import plan, time_cells
from pipelines.pages.plots import new_figure, to_png

REFERENCE = "tf/savedmodel"  # its C++ cell's PSNR is the one each drop is measured from
INT8 = "tflite/int8"

# The artifacts whose image height and width are free (the .tflite files are fixed at the size
# they were converted at, so INT8 is converted again at each size; the int8 AOTI package is
# compiled for its traced size).
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
    precision: str  # what it computes in: float32, bf16 or int8
    peak_per_core: float  # of that precision, GFLOP/s
    drop_db: float | None  # PSNR below REFERENCE's on the same input (None: no output to judge)

    @property
    def gflops(self) -> float:
        return self.gflop / (self.ms / 1e3)

    @property
    def peak_pct(self) -> float:
        return 100 * self.gflops / (self.peak_per_core * self.threads)

    @property
    def peer(self) -> bool:
        return self.artifact.startswith("peer/")


def gflop(cfg: Config, size: int) -> float:
    """The network's GFLOP for one size x size image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pipelines.backends.torch import loader

    module = loader.build(cfg.model).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.zeros(1, cfg.model.arch.get("channels", 3), size, size))
    return counter.get_total_flops() / 1e9


def mosaics(samples: np.ndarray, size: int) -> np.ndarray:
    """Samples (N, h, w, c) tiled into size x size images, each sample used once (the last
    mosaic filled up from the first samples)."""
    n, h, w, c = samples.shape
    rows, cols = -(-size // h), -(-size // w)
    count = -(-n // (rows * cols))
    tiles = samples[np.arange(count * rows * cols) % n].reshape(count, rows, cols, h, w, c)
    return tiles.transpose(0, 1, 3, 2, 4, 5).reshape(count, rows * h, cols * w, c)[:, :size, :size]


def tiles(mosaic: np.ndarray, height: int, width: int) -> np.ndarray:
    """One mosaic (1, R*height, C*width, c) cut back into its R*C tiles."""
    _, rows_h, cols_w, c = mosaic.shape
    rows, cols = rows_h // height, cols_w // width
    cut = mosaic.reshape(rows, height, cols, width, c).transpose(0, 2, 1, 3, 4)
    return cut.reshape(rows * cols, height, width, c)


def evaluation_mosaic(cfg: Config, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One size x size input, the evaluation set's inputs (tiles of photos never seen in
    training) tiled into a mosaic, and the targets of its tiles (NHWC)."""
    inputs, targets = data.load_eval(paths.DATASET, cfg.model)
    assert targets is not None, "the sr evaluation set has targets"
    scale = targets.shape[1] // tensors.first(inputs).shape[1]
    truth = mosaics(targets, size * scale)[:1]
    return mosaics(tensors.first(inputs), size)[:1], tiles(truth, *targets.shape[1:3])


def int8_at(cfg: Config, size: int, folder: Path) -> Artifact:
    """The pipeline's INT8 artifact converted again with its input fixed at size x size: the
    quantize stage's converter and settings, calibrated on its calibration samples tiled into
    mosaics of that size (a .tflite calibrates at the size it is converted at)."""
    from pipelines.backends.tflite.export import convert

    (spec,) = cfg.model.input_tensors
    model = replace(cfg.model, input_shape=[1, size, size, spec.shape[3]])
    samples = data.load_calibration(paths.DATASET, cfg.quantize.calibration_samples, cfg.model)
    calibration = {spec.name: mosaics(samples[spec.name], size)}
    path = folder / f"int8_{size}.tflite"
    path.write_bytes(convert(paths.SAVEDMODEL_DIR, QuantMode.int8, model, calibration))
    return Artifact(
        name=INT8,
        kind="int8",
        framework=Framework.tf,
        path=path,
        python_runner="tflite",
        cpp_runtime=CppRuntime.litert,
    )


def measure(
    cfg: Config, size: int, threads: int, others: list[Artifact]
) -> dict[str, tuple[float, float | None]]:
    """p50 ms and PSNR drop of each any-size C++ cell and of each of the `others` (C++ cells
    of artifacts made for this size, Python cells of the peers) on one mosaic of the
    evaluation set."""
    mine = [a for a in artifacts(cfg) if a.name in ANY_SIZE]
    cells = [
        (a, c)
        for a, c in plan(cfg, [*mine, *others], paths.CPP_BIN)
        if c.language == "cpp" or a.cpp_runtime is None  # the peers run in Python only
    ]
    image, truth = evaluation_mosaic(cfg, size)
    runs = 3 if size >= 512 else 10
    settings = RunSettings(warmup=1, runs=runs, rounds=3, threads=threads, timeout_s=900)
    inputs = {cfg.model.input_tensors[0].name: image}
    done = time_cells(cells, inputs, cfg.model, settings, f"{size}x{size}, {threads}T")
    quality = {  # PSNR as the evaluation takes it: the mean over the tiles
        run.cell.artifact: metrics.psnr(
            tiles(to_nhwc(run.outputs, artifact)[cfg.model.output_names[0]], *truth.shape[1:3]),
            truth,
        )
        for (artifact, _), run in zip(cells, done, strict=True)
        if run.ok and run.outputs is not None
    }
    reference = quality.get(REFERENCE)
    return {
        r.cell.artifact: (
            r.stats["p50_ms"],
            None
            if reference is None or r.cell.artifact not in quality
            else reference - quality[r.cell.artifact],
        )
        for r in done
        if r.ok
    }


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
    for artifact, (ms, drop) in measure(cfg, size, threads, others).items():
        computes = precision(kinds[artifact])
        per_core = cpu.peak_gflops(cpu.ops_per_cycle(computes)) / cpu.cores
        found.append(Point(size, threads, artifact, ms, work, computes, per_core, drop))
    return found


def _int8_against_float32(rows: list[Point]) -> list[str]:
    """At each size and thread count, INT8's latency against the fastest float32 C++ cell's."""
    lines = []
    for size, threads in sorted({(r.size, r.threads) for r in rows}):
        here = [r for r in rows if (r.size, r.threads) == (size, threads) and not r.peer]
        int8 = next((r for r in here if r.artifact == INT8), None)
        floats = [r for r in here if r.precision == "float32"]
        if int8 and floats:
            best = min(floats, key=lambda r: r.ms)
            lines.append(f"{size}² {threads}T {int8.ms / best.ms:.2f}x ({best.artifact})")
    return lines


def _verdicts(rows: list[Point], max_drop: float) -> list[str]:
    """The verdicts: the best float32 cell at 512² against its peak, int8 against float32 at
    every size, and at 512², 1 thread, the fastest C++ cell within `max_drop` against the
    fastest peer within it."""
    lines = []
    floats = [r for r in rows if r.size == 512 and r.precision == "float32" and not r.peer]
    best = max(floats, key=lambda r: r.peak_pct, default=None)
    if best:
        lines.append(
            f"Best float32 C++ cell at 512²: {best.artifact} at {best.threads} thread(s), "
            f"{best.peak_pct:.0f} % of the float32 peak (goal: above 50 %)."
        )
    if ratios := _int8_against_float32(rows):
        lines.append(
            f"{INT8} in C++ against the fastest float32 C++ cell, p50 ratio (goal: below 1.00 at "
            f"every size): {'; '.join(ratios)}."
        )
    one = [
        r
        for r in rows
        if r.size == 512 and r.threads == 1 and r.drop_db is not None and r.drop_db <= max_drop
    ]
    peer = min((r for r in one if r.peer), key=lambda r: r.ms, default=None)
    mine = min((r for r in one if not r.peer), key=lambda r: r.ms, default=None)
    if peer and mine:
        lines.append(
            f"Fastest C++ cell at 512², 1 thread, within the PSNR drop limit ({max_drop:g} dB): "
            f"{mine.artifact} ({mine.precision}, drop {mine.drop_db:.2f} dB), {mine.ms:.1f} ms "
            f"= {mine.ms / peer.ms:.2f}x the fastest peer within it, {peer.artifact} "
            f"({peer.precision}, drop {peer.drop_db:.2f} dB, {peer.ms:.1f} ms) (goal: at most "
            "1.00)."
        )
    return lines


def section(sizes: tuple[int, ...], threads: tuple[int, ...], figure: Path) -> str:
    """The scaling section of bench/README.md (the peers at 1 thread only); the plot is
    written to `figure`."""
    cfg = load()
    cfg.evaluate.languages = list(Language)  # the peers run in Python
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        others = peers.artifacts(cfg, folder)
        rows = []
        for size in sizes:
            int8 = int8_at(cfg, size, folder)
            for t in threads:
                rows += _points(cfg, size, t, [int8, *(others if t == 1 else [])])
    cpu = machine()
    peaks = {
        p: cpu.peak_gflops(cpu.ops_per_cycle(p)) / cpu.cores for p in ("float32", "bf16", "int8")
    }
    figure.write_bytes(plot(rows, peaks))
    max_drop = cfg.evaluate.max_metric_drop[cfg.model.task.value]
    lines = [
        f"{INT8} is the pipeline's int8 .tflite converted again at each size (same converter "
        "and settings, calibrated on the same samples tiled into mosaics of that size). Input: "
        "the evaluation set's inputs (photos never seen in training) tiled into one mosaic of "
        f"that size; PSNR drop against {REFERENCE} in C++, "
        "as the evaluation takes it (mean PSNR over the tiles, against their targets).",
        "",
        "| size | GFLOP | threads | cell | computes in | p50 ms | GFLOP/s | % of its peak "
        "| PSNR drop dB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        drop = "" if r.drop_db is None else f"{r.drop_db:.2f}"
        lines.append(
            f"| {r.size}² | {r.gflop:.1f} | {r.threads} | {r.artifact} | {r.precision} | "
            f"{r.ms:.1f} | {r.gflops:.1f} | {r.peak_pct:.0f} % | {drop} |"
        )
    lines += ["", *_verdicts(rows, max_drop), "", f"![achieved GFLOP/s]({figure.name})"]
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
