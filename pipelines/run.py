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
from pipelines.errors import PipelineError, first_sentence, os_failure, report


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


NPY_MAGIC = b"\x93NUMPY"


def read_inputs(path: Path) -> np.ndarray:
    """The samples in the .npy file `path` ([N, ...], N >= 1), read without pickle."""
    if not path.is_file():
        raise PipelineError(f"input {path} not found (check --input)")
    with open(path, "rb") as handle:
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise PipelineError(f"{path} is not a .npy file (save the samples with np.save)")
    try:
        inputs = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise PipelineError(
            f"{path} is truncated or corrupt: {first_sentence(str(error)) or 'it ends early'} "
            "(save the samples again with np.save)"
        ) from error
    if inputs.ndim < 1 or len(inputs) == 0:
        raise PipelineError(f"{path} has shape {inputs.shape}; expected [N, ...] with N >= 1")
    return inputs


def run(args: argparse.Namespace) -> str:
    """Benchmark the model on the inputs, write the outputs (and stats); a one-line summary."""
    from pipelines.backends.base import benchmark
    from pipelines.backends.registry import python_runner

    inputs = read_inputs(args.input)
    runner = python_runner(args.runtime, args.model, load(args.params))
    outputs, stats = benchmark(
        runner, str(args.model), inputs, args.warmup, args.runs, args.threads, str(args.input)
    )
    with atomic_path(args.output) as tmp, open(tmp, "wb") as handle:
        np.save(handle, outputs)
    if args.json:
        with atomic_path(args.json) as tmp:
            jsonfile.write(tmp, stats.to_json())
    return (
        f"{args.runtime}: {len(inputs)} samples -> {args.output} {list(outputs.shape)}; "
        f"load {stats.load_ms:.1f} ms, first {stats.first_run_ms:.2f} ms, p50 {stats.p50_ms:.3f} ms"
    )


def main(argv: list[str]) -> int:
    """Run the command line `argv`; a failure a user can fix prints one `error:` line, exit 1."""
    args = parse(argv)
    try:
        print(run(args))
    except (PipelineError, ConfigError) as error:
        report(error)
        return 1
    except OSError as error:  # an unreadable input, a full or read-only disk
        report(os_failure(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
