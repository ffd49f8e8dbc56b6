"""int8_selective on a network plain int8 cannot hold: accuracy, size and C++ latency of
float32, plain int8 and every step of the search, measured side by side.

    python bench/selective.py [--rounds 5] [--runs 50]

Needs the C++ runners (`make run` builds them). The network is tests/user_model.py's
build_keras_outlier_channel (one channel 1000x wider than the others); its samples are random.
The .tflite files take turns in litert_runner, round after round (one interleaved run), and
each one's p50 (the median of its rounds' p50s) is printed with its ratio to float32.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines import metrics, paths, sidecar
from pipelines.backends.cpp.build import PROGRAMS
from pipelines.backends.tf.export import savedmodel
from pipelines.backends.tflite.export import convert
from pipelines.backends.tflite.selective import quantize_selective, step_models
from pipelines.config import CppRuntime, EvaluateConfig, ModelConfig, QuantMode, Task
from pipelines.evaluate.cells import Cell, CellJob, RunSettings, cpp_command, run_interleaved
from tests.user_model import build_keras_outlier_channel

SIZE = 64
MODEL = ModelConfig(name="outlier", task=Task.generic, input_shape=[1, SIZE, SIZE, 3])


def measure(rounds: int, runs: int) -> list[str]:
    """Build the test network's float32 and int8_selective models and time them in turns in
    litert_runner; one printed row per model."""
    rng = np.random.default_rng(0)
    calibration = {"input": rng.random((64, SIZE, SIZE, 3), dtype=np.float32)}
    held_out = {"input": rng.random((16, SIZE, SIZE, 3), dtype=np.float32)}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        network = build_keras_outlier_channel(size=SIZE)
        folder = workdir / "savedmodel"
        expected = {"output": np.asarray(network(held_out["input"]))}
        sidecar.write(folder, savedmodel(network, MODEL, folder, held_out, expected))
        _, record = quantize_selective(folder, MODEL, EvaluateConfig(), calibration, held_out, None)
        steps = step_models(folder, MODEL, calibration, record)
        models = {"float32": convert(folder, QuantMode.float32, MODEL, None)}
        for i, (step, model_bytes) in enumerate(zip(record["steps"], steps, strict=True)):
            chosen = " (chosen)" if i == len(steps) - 1 else ""
            models[f"{len(step['float_layers'])} layer(s) in float{chosen}"] = model_bytes
        np.save(workdir / "inputs.npy", held_out["input"])
        runner = paths.CPP_BIN / PROGRAMS[CppRuntime.litert]
        jobs = []
        for index, (name, model_bytes) in enumerate(models.items()):
            path = workdir / f"m{index}.tflite"
            path.write_bytes(model_bytes)
            cell = Cell(name, "cpp", cpp_command(runner, path))
            jobs.append(CellJob.plan(cell, {"input": workdir / "inputs.npy"}, ["output"], workdir))
        settings = RunSettings(warmup=10, runs=runs, rounds=rounds, threads=1, timeout_s=600)
        done = run_interleaved(jobs, settings, progress="int8_selective steps")
    for run in done:
        if not run.ok or run.outputs is None:
            sys.exit(f"error: {run.cell.artifact}: {run.failure}: {run.stderr_tail}")
    base = done[0].stats["p50_ms"]
    rows = [
        f"target: {record['target']}",
        "",
        "| model | size kB | SNR dB | C++ p50 ms | vs float32 |",
        "|---|---|---|---|---|",
    ]
    for run, model_bytes in zip(done, models.values(), strict=True):
        snr = metrics.tensor_errors(run.outputs or {}, expected)["all"]["snr_db"]
        p50 = run.stats["p50_ms"]
        rows.append(
            f"| {run.cell.artifact} | {len(model_bytes) / 1024:.1f} | {snr:.1f} | {p50:.4f} | "
            f"{p50 / base:.2f}x |"
        )
    return rows


def section(rounds: int = 5, runs: int = 50) -> str:
    """The int8_selective section of bench/README.md."""
    return "\n".join(measure(rounds, runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print(section(args.rounds, args.runs))


if __name__ == "__main__":
    main()
