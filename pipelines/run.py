"""Run one artifact in a Python runtime with the same command line as the C++ runners.

    python -m pipelines.run --runtime tflite --model artifacts/tflite/int8/model.tflite \\
        --input in.npy --output out.npy [--warmup 5] [--runs 20] [--threads 1] [--json stats.json]

--runtime is a key of pipelines.backends.registry.PYTHON_RUNNERS (keras, savedmodel, frozen,
tflite, torch, torch_export) or the dotted path of a runner class of your own.
The original-model runtimes (keras, torch) also read the network definition from params.yaml.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from pipelines import jsonfile
from pipelines.atomic import atomic_path
from pipelines.config import ConfigError, load
from pipelines.errors import PipelineError


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runtime", required=True)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    if args.warmup < 0 or args.runs < 1 or args.threads < 1:
        parser.error("--warmup must be >= 0, --runs and --threads >= 1")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    from pipelines.backends.base import benchmark
    from pipelines.backends.registry import python_runner

    try:
        if not args.input.is_file():
            raise PipelineError(f"input {args.input} not found (check --input)")
        inputs = np.load(args.input, allow_pickle=False)
        if inputs.ndim < 1 or len(inputs) == 0:
            raise PipelineError(
                f"{args.input} has shape {inputs.shape}; expected [N, ...] with N >= 1"
            )
        runner = python_runner(args.runtime, args.model, load(args.params))
        outputs, stats = benchmark(
            runner, str(args.model), inputs, args.warmup, args.runs, args.threads
        )
    except (PipelineError, ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with atomic_path(args.output) as tmp, open(tmp, "wb") as handle:
        np.save(handle, outputs)
    if args.json:
        with atomic_path(args.json) as tmp:
            jsonfile.write(tmp, stats.to_json())
    print(
        f"{args.runtime}: {len(inputs)} samples -> {args.output} {list(outputs.shape)}; "
        f"load {stats.load_ms:.1f} ms, first {stats.first_run_ms:.2f} ms, p50 {stats.p50_ms:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
