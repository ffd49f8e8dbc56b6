"""Latency of each artifact in its Python runtime against its C++ runner, measured side by side.

    python bench/runtimes.py [--rounds 3] [--runs 50] [--threads 1]

Needs a built workspace (`make run`). The machine is shared and noisy, so the two runtimes of an
artifact run alternately, round after round, and the ratio of their median p50s is printed;
quantized .tflite modes are also compared with float32 in the same C++ runner.
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines import data, paths, tensors
from pipelines.backends.registry import artifacts
from pipelines.config import Language, load
from pipelines.evaluate.cells import RunSettings, run_cell
from pipelines.evaluate.evaluation import plan, write_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    cfg = load()
    cfg.evaluate.languages = list(Language)
    inputs, _ = data.load_eval(paths.DATASET, cfg.model)
    with_cpp = [a for a in artifacts(cfg) if a.cpp_runtime in cfg.cpp.runtimes]
    cells = plan(cfg, with_cpp, paths.CPP_BIN)
    settings = RunSettings(warmup=10, runs=args.runs, threads=args.threads, timeout_s=600)
    p50: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        layouts = write_inputs(tensors.rows(inputs, 0, 4), cfg.model, workdir)
        for round_ in range(args.rounds):
            for artifact, cell in cells:
                files = layouts[artifact.layout]
                run = run_cell(cell, files, cfg.model.output_names, workdir, settings)
                if run.ok:
                    p50.setdefault(cell.key, []).append(run.stats["p50_ms"])
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    median = {k: statistics.median(v) for k, v in p50.items()}
    print(f"{'artifact':<18} {'python p50 ms':>14} {'C++ p50 ms':>11} {'python/C++':>11}")
    for name in sorted({k.split("@")[0] for k in median}):
        py, cpp = median.get(f"{name}@python"), median.get(f"{name}@cpp")
        if py and cpp:
            print(f"{name:<18} {py:>14.3f} {cpp:>11.3f} {py / cpp:>11.2f}")
    base = median.get("tflite/float32@cpp")
    if base:
        print("\nC++ LiteRT speed-up over float32 (float32 p50 / mode p50):")
        for key, value in sorted(median.items()):
            if key.startswith("tflite/") and key.endswith("@cpp"):
                print(f"  {key.split('@')[0]:<16} {base / value:.2f}x")
    int8 = median.get("torch/aoti_int8@cpp")
    floats = {k: v for k, v in median.items() if k.startswith("torch/") and k.endswith("@cpp")}
    floats.pop("torch/aoti_int8@cpp", None)
    if int8 and floats:
        fastest = min(floats, key=floats.__getitem__)
        print(
            f"\nPyTorch int8 in C++: torch/aoti_int8 p50 {int8:.3f} ms = "
            f"{int8 / floats[fastest]:.2f}x the fastest float PyTorch C++ cell ({fastest}, "
            f"{floats[fastest]:.3f} ms)"
        )


if __name__ == "__main__":
    main()
