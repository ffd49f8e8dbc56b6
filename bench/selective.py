"""int8_selective on a network plain int8 cannot hold: accuracy, size and C++ latency of
float32, plain int8 and every step of the search, measured side by side.

    python bench/selective.py [--rounds 5] [--runs 50]

Needs the C++ runners (`make run` builds them). The network is tests/user_model.py's
build_keras_outlier_channel (one channel 1000x wider than the others); its samples are random.
The .tflite files run alternately in litert_runner, round after round, and the median of each
one's per-round p50 is printed with its ratio to float32.
"""

import argparse
import statistics
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
from pipelines.evaluate.cells import Cell, RunSettings, cpp_command, run_cell
from tests.user_model import build_keras_outlier_channel

SIZE = 64
MODEL = ModelConfig(name="outlier", task=Task.generic, input_shape=[1, SIZE, SIZE, 3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
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
        models = {
            "float32": convert(folder, QuantMode.float32, MODEL, None),
            **{
                f"{len(step['float_layers'])} layer(s) in float"
                + (" (chosen)" if i == len(record["steps"]) - 1 else ""): model_bytes
                for i, (step, model_bytes) in enumerate(
                    zip(
                        record["steps"],
                        step_models(folder, MODEL, calibration, record),
                        strict=True,
                    )
                )
            },
        }
        np.save(workdir / "inputs.npy", held_out["input"])
        files = {"input": workdir / "inputs.npy"}
        settings = RunSettings(warmup=10, runs=args.runs, threads=1, timeout_s=600)
        runner = paths.CPP_BIN / PROGRAMS[CppRuntime.litert]
        p50: dict[str, list[float]] = {name: [] for name in models}
        snr: dict[str, float] = {}
        for round_ in range(args.rounds):
            for index, (name, model_bytes) in enumerate(models.items()):
                path = workdir / f"m{index}.tflite"
                path.write_bytes(model_bytes)
                cell = Cell(name, "cpp", cpp_command(runner, path))
                run = run_cell(cell, files, ["output"], workdir, settings)
                if not run.ok or run.outputs is None:
                    sys.exit(f"error: {name}: {run.failure}: {run.stderr_tail}")
                p50[name].append(run.stats["p50_ms"])
                snr[name] = metrics.tensor_errors(run.outputs, expected)["all"]["snr_db"]
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    base = statistics.median(p50["float32"])
    print(f"target: {record['target']}")
    print(f"{'model':<28} {'size kB':>8} {'SNR dB':>7} {'C++ p50 ms':>11} {'vs float32':>11}")
    for name, model_bytes in models.items():
        median = statistics.median(p50[name])
        print(
            f"{name:<28} {len(model_bytes) / 1024:>8.1f} {snr[name]:>7.1f} {median:>11.4f} "
            f"{median / base:>10.2f}x"
        )


if __name__ == "__main__":
    main()
